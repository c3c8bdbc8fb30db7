// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IReputation} from "./interfaces/IReputation.sol";

/// @title RewardPool
/// @notice Pays each epoch's reward in LUM to the nodes that contributed, through Merkle claims:
/// `R_i = R_total · C_i / ΣC`, computed on chain.
/// @dev Per epoch the keeper commits the Merkle root over leaves `(epoch, index, account, contribution)` in the
/// OpenZeppelin StandardMerkleTree encoding for types `["uint64","uint256","address","uint256"]`
/// (`keccak256(bytes.concat(keccak256(abi.encode(epoch, index, account, contribution))))`), the total
/// contribution ΣC and the reward R_total, which the pool must already hold unreserved.
/// A committed epoch is pending for `challengeWindow` seconds, during which GUARDIAN_ROLE may veto it (its
/// reward returns to the unreserved balance and the epoch may be committed again); it is claimable afterwards
/// until `claimPeriod` seconds later, when anyone may expire it and return the unclaimed rest to the unreserved
/// balance, from where a later epoch can distribute it. The claimed flags live in a bitmap keyed by leaf index.
/// Accounting: `reserved` is what committed epochs still owe (Σ rewardTotal − claimed over live epochs);
/// `unreserved` is what the pool holds for future epochs. Tokens arrive through {fund} or a plain transfer
/// followed by {sync} (commitEpoch syncs by itself when it needs to).
/// Invariant (solvency): `token.balanceOf(pool) >= reserved() + accountedUnreserved() >= reserved()` at all times.
contract RewardPool is AccessControl, Pausable {
    using SafeERC20 for IERC20;

    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice Lifecycle of an epoch.
    enum EpochStatus {
        None,
        Pending,
        Claimable,
        Vetoed,
        Expired
    }

    /// @notice The stored, write-once part of a committed epoch (one slot besides the root).
    /// @param root Merkle root of the epoch's leaves.
    /// @param totalContribution ΣC over the epoch's leaves.
    /// @param rewardTotal R_total reserved for the epoch.
    /// @param claimableAt Timestamp from which claims are accepted (commit time + challenge window).
    struct Epoch {
        bytes32 root;
        uint120 totalContribution;
        uint96 rewardTotal;
        uint40 claimableAt;
    }

    /// @notice The mutable part of an epoch, written by claims, veto and expiry.
    /// @param claimed Sum of rewards paid for the epoch.
    /// @param closed 0 = open, 1 = vetoed, 2 = expired.
    struct EpochState {
        uint96 claimed;
        uint8 closed;
    }

    /// @notice One epoch's claim in {claimMany}.
    struct Claim {
        uint64 epoch;
        uint256 index;
        uint256 contribution;
        bytes32[] proof;
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice Role allowed to commit epochs.
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    /// @notice Role allowed to veto pending epochs and to pause.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Upper bound of the challenge window.
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    /// @notice Lower bound of the claim period, so holders always have time to claim.
    uint256 public constant MIN_CLAIM_PERIOD = 1 days;
    /// @notice Upper bound of the claim period.
    uint256 public constant MAX_CLAIM_PERIOD = 3650 days;

    uint8 private constant _OPEN = 0;
    uint8 private constant _VETOED = 1;
    uint8 private constant _EXPIRED = 2;

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The reward token.
    IERC20 public immutable token;
    /// @notice The Reputation contract whose flags block claims.
    IReputation public immutable reputation;

    // These four share one slot with Pausable's `_paused` flag (8 + 96 + 96 + 32 + 24 bits): a claim reads
    // that slot anyway, so booking a payment costs a warm write only, and a commitment reads one slot.
    uint96 private _reserved;
    uint96 private _unreserved;
    /// @notice The latest epoch committed (vetoed epochs included).
    uint32 public lastEpoch;
    /// @notice Seconds an epoch stays pending (vetoable) after its commitment.
    uint24 public challengeWindow;

    /// @notice Seconds an epoch stays claimable before it can be expired.
    uint256 public claimPeriod;

    mapping(uint256 epoch => Epoch data) private _epochs;
    mapping(uint256 epoch => EpochState state) private _states;
    // Claimed flags: one word holds 32 consecutive leaf indices × 8 consecutive epochs, so an account that keeps
    // its index across epochs (the keeper assigns stable indices) finds the word already written when it claims
    // several epochs: every epoch after the first of a group of 8 costs a warm write instead of a fresh slot.
    mapping(uint256 epochGroup => mapping(uint256 indexGroup => uint256 bits)) private _claimedBitmap;

    // ─────────────────────────────────────────── errors ───────────────────────────────────────────

    /// @notice A constructor argument is the zero address.
    error RewardPoolZeroAddress();
    /// @notice `epoch` cannot be committed: expected `expected` (or a vetoed epoch).
    error RewardPoolNonConsecutiveEpoch(uint256 epoch, uint256 expected);
    /// @notice The root is zero, the total contribution is zero, or a value does not fit its storage type.
    error RewardPoolInvalidCommitment(uint256 epoch);
    /// @notice The pool holds `available` unreserved tokens, less than the `needed` reward.
    error RewardPoolInsufficientUnreserved(uint256 needed, uint256 available);
    /// @notice The epoch was never committed.
    error RewardPoolUnknownEpoch(uint256 epoch);
    /// @notice The epoch is still pending until `claimableAt`.
    error RewardPoolEpochPending(uint256 epoch, uint256 claimableAt);
    /// @notice The epoch is no longer pending (claimable since `claimableAt`), so it cannot be vetoed.
    error RewardPoolEpochNotPending(uint256 epoch, uint256 claimableAt);
    /// @notice The epoch was vetoed.
    error RewardPoolEpochVetoed(uint256 epoch);
    /// @notice The epoch was expired; its unclaimed rewards were returned to the pool.
    error RewardPoolEpochExpired(uint256 epoch);
    /// @notice The claim period of the epoch runs until `deadline`.
    error RewardPoolClaimPeriodRunning(uint256 epoch, uint256 deadline);
    /// @notice The leaf `index` of `epoch` was already claimed.
    error RewardPoolAlreadyClaimed(uint256 epoch, uint256 index);
    /// @notice The proof does not prove the leaf for `account` in `epoch`.
    error RewardPoolInvalidProof(uint256 epoch, address account);
    /// @notice `account` is flagged by Reputation and cannot claim while flagged.
    error RewardPoolAccountFlagged(address account);
    /// @notice Paying the claim would exceed the epoch's reward (a faulty root); nothing is paid.
    error RewardPoolEpochOverdrawn(uint256 epoch);
    /// @notice A window parameter is out of its bounds.
    error RewardPoolInvalidWindow(uint256 value);
    /// @notice {claimMany} was called with no claims.
    error RewardPoolNoClaims();
    /// @notice The amount is zero or would overflow the pool's 96-bit accounting.
    error RewardPoolInvalidAmount(uint256 amount);

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice An epoch was committed.
    event EpochCommitted(
        uint256 indexed epoch,
        bytes32 root,
        uint256 totalContribution,
        uint256 rewardTotal,
        uint256 claimableAt
    );
    /// @notice A pending epoch was vetoed by `guardian`; its reward is unreserved again.
    event EpochVetoed(uint256 indexed epoch, address indexed guardian, uint256 released);
    /// @notice An epoch's claim period ended; `released` unclaimed tokens are unreserved again.
    event EpochExpired(uint256 indexed epoch, uint256 released);
    /// @notice `account` claimed `amount` for leaf `index` of `epoch`.
    event Claimed(uint256 indexed epoch, uint256 index, address indexed account, uint256 amount);
    /// @notice The challenge window changed (applies to later commitments).
    event ChallengeWindowSet(uint256 challengeWindow);
    /// @notice The claim period changed (applies to every epoch not yet expired).
    event ClaimPeriodSet(uint256 claimPeriod);
    /// @notice `from` funded the pool with `amount` unreserved tokens.
    event Funded(address indexed from, uint256 amount);
    /// @notice `amount` tokens sent to the pool by plain transfer were added to the unreserved balance.
    event Synced(uint256 amount);

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the pool.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants roles, sets windows).
    /// @param token_ The reward token.
    /// @param reputation_ The Reputation contract whose flags block claims.
    /// @param challengeWindow_ Seconds an epoch stays pending (≤ 30 days).
    /// @param claimPeriod_ Seconds an epoch stays claimable before it may be expired (≥ 1 day).
    constructor(address admin, IERC20 token_, IReputation reputation_, uint256 challengeWindow_, uint256 claimPeriod_) {
        if (admin == address(0) || address(token_) == address(0) || address(reputation_) == address(0)) {
            revert RewardPoolZeroAddress();
        }
        token = token_;
        reputation = reputation_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setChallengeWindow(challengeWindow_);
        _setClaimPeriod(claimPeriod_);
    }

    // ─────────────────────────────────────────── keeper ───────────────────────────────────────────

    /// @notice Commits an epoch's reward distribution.
    /// @dev Only KEEPER_ROLE, not while paused. `epoch` must be `lastEpoch + 1`, or an epoch that was vetoed.
    /// The pool must already hold `rewardTotal` unreserved tokens; they become reserved for the epoch.
    /// @param epoch The epoch.
    /// @param root StandardMerkleTree root over `(epoch, index, account, contribution)` leaves.
    /// @param totalContribution ΣC over the leaves (non-zero, < 2^120).
    /// @param rewardTotal R_total to distribute (non-zero, < 2^96).
    function commitEpoch(
        uint64 epoch,
        bytes32 root,
        uint256 totalContribution,
        uint256 rewardTotal
    ) external onlyRole(KEEPER_ROLE) whenNotPaused {
        uint256 next = uint256(lastEpoch) + 1;
        bool recommit = _epochs[epoch].root != bytes32(0);
        if (recommit ? _states[epoch].closed != _VETOED : epoch != next) {
            revert RewardPoolNonConsecutiveEpoch(epoch, next);
        }
        if (
            root == bytes32(0) ||
            totalContribution == 0 ||
            rewardTotal == 0 ||
            totalContribution > type(uint120).max ||
            rewardTotal > type(uint96).max ||
            epoch > type(uint32).max
        ) revert RewardPoolInvalidCommitment(epoch);
        uint256 available = _unreserved;
        if (rewardTotal > available) available = _sync();
        if (rewardTotal > available) revert RewardPoolInsufficientUnreserved(rewardTotal, available);

        uint40 claimableAt = uint40(block.timestamp + challengeWindow);
        _unreserved = uint96(available - rewardTotal);
        _reserved += uint96(rewardTotal);
        if (!recommit) lastEpoch = uint32(epoch);
        else delete _states[epoch];
        _epochs[epoch] = Epoch({
            root: root,
            totalContribution: uint120(totalContribution),
            rewardTotal: uint96(rewardTotal),
            claimableAt: claimableAt
        });
        emit EpochCommitted(epoch, root, totalContribution, rewardTotal, claimableAt);
    }

    // ────────────────────────────────────────── guardian ──────────────────────────────────────────

    /// @notice Vetoes a pending epoch: it can never be claimed, and its reward is unreserved again.
    /// @dev Only GUARDIAN_ROLE. The keeper may then commit a corrected distribution for the same epoch.
    /// @param epoch The pending epoch.
    function vetoEpoch(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        if (_states[epoch].closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
        if (block.timestamp >= e.claimableAt) revert RewardPoolEpochNotPending(epoch, e.claimableAt);

        _states[epoch].closed = _VETOED;
        _reserved -= e.rewardTotal;
        _unreserved += e.rewardTotal;
        emit EpochVetoed(epoch, msg.sender, e.rewardTotal);
    }

    /// @notice Pauses commitments and claims.
    /// @dev Only GUARDIAN_ROLE.
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @notice Resumes commitments and claims.
    /// @dev Only GUARDIAN_ROLE.
    function unpause() external onlyRole(GUARDIAN_ROLE) {
        _unpause();
    }

    // ──────────────────────────────────────────── admin ───────────────────────────────────────────

    /// @notice Sets the challenge window for later commitments.
    /// @dev Only DEFAULT_ADMIN_ROLE. At most {MAX_CHALLENGE_WINDOW}.
    /// @param seconds_ The new window in seconds.
    function setChallengeWindow(uint256 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setChallengeWindow(seconds_);
    }

    /// @notice Sets the claim period (applies to every epoch not yet expired).
    /// @dev Only DEFAULT_ADMIN_ROLE. Between {MIN_CLAIM_PERIOD} and {MAX_CLAIM_PERIOD}, and never shorter than the
    /// current period, because it also applies to the epochs already committed.
    /// @param seconds_ The new period in seconds.
    function setClaimPeriod(uint256 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setClaimPeriod(seconds_);
    }

    // ─────────────────────────────────────────── anyone ───────────────────────────────────────────

    /// @notice Claims the reward of one leaf. Anyone may submit it; the tokens always go to `account`.
    /// @dev Not while paused, nor for a flagged account. Pays `rewardTotal * contribution / totalContribution`
    /// (rounded down).
    /// @param epoch The epoch.
    /// @param index The leaf index (keys the claimed bitmap).
    /// @param account The leaf's account, which receives the reward.
    /// @param contribution The leaf's contribution C_i.
    /// @param proof StandardMerkleTree proof of the leaf.
    /// @return amount The reward paid.
    function claim(
        uint64 epoch,
        uint256 index,
        address account,
        uint256 contribution,
        bytes32[] calldata proof
    ) external whenNotPaused returns (uint256 amount) {
        if (reputation.isFlagged(account)) revert RewardPoolAccountFlagged(account);
        amount = _settle(epoch, index, account, contribution, proof);
        _reserved -= uint96(amount);
        token.safeTransfer(account, amount);
    }

    /// @notice Claims several epochs for one account in one transaction, with a single token transfer.
    /// @dev Not while paused, nor for a flagged account. Reverts as a whole if any claim is invalid.
    /// @param account The account that receives every reward.
    /// @param claims The leaves to claim, one per epoch.
    /// @return total The sum paid.
    function claimMany(address account, Claim[] calldata claims) external whenNotPaused returns (uint256 total) {
        if (claims.length == 0) revert RewardPoolNoClaims();
        if (reputation.isFlagged(account)) revert RewardPoolAccountFlagged(account);
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            total += _settle(c.epoch, c.index, account, c.contribution, c.proof);
        }
        _reserved -= uint96(total);
        token.safeTransfer(account, total);
    }

    /// @notice Adds `amount` tokens from the caller (who approved the pool) to the unreserved balance.
    /// @param amount Tokens to pull with `transferFrom`.
    function fund(uint256 amount) external {
        if (amount == 0 || amount + _reserved + _unreserved > type(uint96).max) revert RewardPoolInvalidAmount(amount);
        _unreserved += uint96(amount);
        emit Funded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Adds tokens sent to the pool by plain transfer to the unreserved balance. Anyone may call it.
    /// @return The unreserved balance after the sync.
    function sync() external returns (uint256) {
        return _sync();
    }

    /// @notice Ends the claim period of an epoch and unreserves its unclaimed rewards, so that a later epoch can
    /// distribute them. Anyone may call it once the claim period is over, except while paused (holders who could
    /// not claim during a pause keep their rewards until it ends).
    /// @param epoch A claimable epoch whose claim period ended.
    /// @return released The unclaimed amount returned to the unreserved balance.
    function expireEpoch(uint64 epoch) external whenNotPaused returns (uint256 released) {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        EpochState memory s = _states[epoch];
        if (s.closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
        if (s.closed == _EXPIRED) revert RewardPoolEpochExpired(epoch);
        uint256 deadline = uint256(e.claimableAt) + claimPeriod;
        if (block.timestamp < deadline) revert RewardPoolClaimPeriodRunning(epoch, deadline);

        released = e.rewardTotal - s.claimed;
        _states[epoch].closed = _EXPIRED;
        _reserved -= uint96(released);
        _unreserved += uint96(released);
        emit EpochExpired(epoch, released);
    }

    // ──────────────────────────────────────────── views ───────────────────────────────────────────

    /// @notice Tokens reserved for committed, not yet claimed or released rewards.
    /// @return The reserved amount.
    function reserved() external view returns (uint256) {
        return _reserved;
    }

    /// @notice Tokens the pool holds beyond what is reserved: what a new epoch may distribute (plain transfers
    /// not synced yet included; {commitEpoch} syncs them when it needs to).
    /// @return The unreserved balance.
    function unreservedBalance() external view returns (uint256) {
        return token.balanceOf(address(this)) - _reserved;
    }

    /// @notice The unreserved balance as booked (funded or synced).
    /// @return The accounted unreserved balance.
    function accountedUnreserved() external view returns (uint256) {
        return _unreserved;
    }

    /// @notice The committed data of `epoch` (all zero when never committed).
    /// @param epoch The epoch.
    /// @return data The write-once commitment.
    /// @return claimed The sum paid so far.
    function epochOf(uint256 epoch) external view returns (Epoch memory data, uint256 claimed) {
        return (_epochs[epoch], _states[epoch].claimed);
    }

    /// @notice The lifecycle status of `epoch` now.
    /// @param epoch The epoch.
    /// @return The status.
    function statusOf(uint256 epoch) public view returns (EpochStatus) {
        Epoch storage e = _epochs[epoch];
        if (e.root == bytes32(0)) return EpochStatus.None;
        uint8 closed = _states[epoch].closed;
        if (closed == _VETOED) return EpochStatus.Vetoed;
        if (closed == _EXPIRED) return EpochStatus.Expired;
        return block.timestamp < e.claimableAt ? EpochStatus.Pending : EpochStatus.Claimable;
    }

    /// @notice Whether leaf `index` of `epoch` was claimed.
    /// @param epoch The epoch.
    /// @param index The leaf index.
    /// @return True once claimed.
    function isClaimed(uint256 epoch, uint256 index) external view returns (bool) {
        return _claimedBitmap[epoch >> 3][index >> 5] & _claimedBit(epoch, index) != 0;
    }

    /// @notice The reward a leaf with `contribution` receives in `epoch` (`R_total · C_i / ΣC`, rounded down).
    /// @param epoch The epoch.
    /// @param contribution The leaf's contribution.
    /// @return The reward, or 0 for an unknown, vetoed or expired epoch.
    function rewardFor(uint256 epoch, uint256 contribution) external view returns (uint256) {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0) || _states[epoch].closed != _OPEN) return 0;
        return Math.mulDiv(e.rewardTotal, contribution, e.totalContribution);
    }

    /// @notice The StandardMerkleTree leaf of a reward entry.
    /// @param epoch The epoch.
    /// @param index The leaf index.
    /// @param account The account.
    /// @param contribution The contribution.
    /// @return The leaf hash.
    function leafOf(uint64 epoch, uint256 index, address account, uint256 contribution) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(epoch, index, account, contribution))));
    }

    // ─────────────────────────────────────────── internal ─────────────────────────────────────────

    /// @dev Checks one claim, marks it claimed and books the payment against the epoch; returns the amount.
    /// The caller decreases `_reserved` and transfers (effects before the interaction).
    function _settle(
        uint64 epoch,
        uint256 index,
        address account,
        uint256 contribution,
        bytes32[] calldata proof
    ) internal returns (uint256 amount) {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        EpochState memory s = _states[epoch];
        if (s.closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
        if (s.closed == _EXPIRED) revert RewardPoolEpochExpired(epoch);
        if (block.timestamp < e.claimableAt) revert RewardPoolEpochPending(epoch, e.claimableAt);

        _markClaimed(epoch, index);
        if (!MerkleProof.verifyCalldata(proof, e.root, leafOf(epoch, index, account, contribution))) {
            revert RewardPoolInvalidProof(epoch, account);
        }

        amount = Math.mulDiv(e.rewardTotal, contribution, e.totalContribution);
        uint256 claimed = s.claimed + amount;
        if (claimed > e.rewardTotal) revert RewardPoolEpochOverdrawn(epoch);
        _states[epoch].claimed = uint96(claimed);
        emit Claimed(epoch, index, account, amount);
    }

    /// @dev Sets the claimed bit of leaf `index`; reverts if it was already set. The whole claim reverts (and the
    /// bit with it) when a later check fails.
    function _markClaimed(uint256 epoch, uint256 index) internal {
        mapping(uint256 indexGroup => uint256 bits) storage words = _claimedBitmap[epoch >> 3];
        uint256 bits = words[index >> 5];
        uint256 bit = _claimedBit(epoch, index);
        if (bits & bit != 0) revert RewardPoolAlreadyClaimed(epoch, index);
        words[index >> 5] = bits | bit;
    }

    /// @dev Bit of (epoch, index) inside its word: 32 bits per epoch of the group, one per index of the group.
    function _claimedBit(uint256 epoch, uint256 index) internal pure returns (uint256) {
        return 1 << (((epoch & 7) << 5) | (index & 31));
    }

    /// @dev Books every token held beyond `_reserved + _unreserved` as unreserved (capped to the 96-bit
    /// accounting) and returns the new unreserved balance.
    function _sync() internal returns (uint256 unreserved) {
        uint256 reservedNow = _reserved;
        unreserved = _unreserved;
        uint256 surplus = token.balanceOf(address(this)) - reservedNow - unreserved;
        uint256 room = type(uint96).max - reservedNow - unreserved;
        if (surplus > room) surplus = room;
        if (surplus == 0) return unreserved;
        unreserved += surplus;
        _unreserved = uint96(unreserved);
        emit Synced(surplus);
    }

    function _setChallengeWindow(uint256 seconds_) internal {
        if (seconds_ > MAX_CHALLENGE_WINDOW) revert RewardPoolInvalidWindow(seconds_);
        challengeWindow = uint24(seconds_);
        emit ChallengeWindowSet(seconds_);
    }

    function _setClaimPeriod(uint256 seconds_) internal {
        // Never shorter than before: the period applies to epochs already committed, whose holders rely on it.
        if (seconds_ < MIN_CLAIM_PERIOD || seconds_ > MAX_CLAIM_PERIOD || seconds_ < claimPeriod) {
            revert RewardPoolInvalidWindow(seconds_);
        }
        claimPeriod = seconds_;
        emit ClaimPeriodSet(seconds_);
    }
}
