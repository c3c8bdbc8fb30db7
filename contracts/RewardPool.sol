// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IFlagMirror} from "./interfaces/IFlagMirror.sol";
import {IReputation} from "./interfaces/IReputation.sol";

/// @title RewardPool
/// @notice Pays each epoch's reward in LUM to the nodes that contributed, through Merkle claims:
/// `R_i = R_total · C_i / ΣC`, computed on chain.
/// @dev Per epoch the keeper commits the Merkle root over leaves `(epoch, index, account, contribution)` in the
/// OpenZeppelin StandardMerkleTree encoding for types `["uint64","uint256","address","uint256"]`
/// (`keccak256(bytes.concat(keccak256(abi.encode(epoch, index, account, contribution))))`), the total
/// contribution ΣC and the reward R_total, which the pool must already hold unreserved.
/// A committed epoch is pending for `challengeWindow` seconds, during which GUARDIAN_ROLE may veto it (its
/// reward returns to the unreserved balance and the epoch may be committed again) and anyone may challenge it by
/// posting {challengeBond} (a challenged epoch is frozen until the guardian, or a supermajority of the keepers
/// through KEEPER_ROLE (EpochQuorum), upholds or rejects the challenge; see docs/security.md, "Challenges"); it is
/// claimable afterwards until `claimPeriod` seconds later, when anyone may expire it and return the unclaimed rest
/// to the unreserved balance, from where a later epoch can distribute it.
/// Pausing stops these clocks: every deadline moves by the time the pool spent paused (see {pausedTotal}).
/// `rewardTotal` is capped per epoch by {rewardCap} and by {rewardCapBps} of the unreserved balance.
/// The claimed flags live in a bitmap keyed by leaf index: the committed tree MUST give every leaf of an epoch its
/// own index. If a faulty tree repeats an index, only the first of those leaves can ever be claimed; the others
/// revert with {RewardPoolAlreadyClaimed} (and are reported as skipped by {claimMany}) — the guardian must veto
/// such a root while it is pending. The keeper assigns each account one stable index (keeper/epochs/accounts.ts)
/// and refuses to build a tree that repeats one (keeper/epochs/build.ts).
/// Accounting: `reserved` is Σ rewardTotal over live epochs (committed, neither vetoed nor expired), their claimed
/// part included: a claim writes nothing pool-wide (docs/gas.md), so what live epochs still owe is
/// `reserved − Σ claimed` over them. `unreserved` is what the pool holds for future epochs. Tokens arrive through
/// {fund} or a plain transfer followed by {sync} (commitEpoch syncs by itself when it needs to).
/// Challenge bonds are held apart from both ({bonded}).
/// Invariant (solvency): `token.balanceOf(pool) >= Σ (rewardTotal − claimed) over live epochs +
/// accountedUnreserved() + bonded()` at all times.
/// Claims read Reputation's flags from the pool's own copy, which Reputation keeps up to date ({setFlagged}); no epoch
/// can be committed before Reputation links the pool ({onFlagMirrorLinked}).
contract RewardPool is AccessControl, IFlagMirror {
    using SafeERC20 for IERC20;

    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice Lifecycle of an epoch.
    enum EpochStatus {
        None,
        Pending,
        Claimable,
        Vetoed,
        Expired,
        Challenged
    }

    /// @notice The stored, write-once part of a committed epoch (one slot besides the root).
    /// @param root Merkle root of the epoch's leaves.
    /// @param totalContribution ΣC over the epoch's leaves.
    /// @param rewardTotal R_total reserved for the epoch.
    /// @param claimableAt Timestamp from which claims are accepted (commit time + challenge window + time paused
    /// since). Stored on the pool's clock, which stops while paused (see {_poolTime}); {epochOf} returns it in
    /// block time.
    struct Epoch {
        bytes32 root;
        uint120 totalContribution;
        uint96 rewardTotal;
        uint40 claimableAt;
    }

    /// @notice The mutable part of an epoch, written by claims, veto and expiry: the one slot a claim reads and
    /// writes for its epoch besides the claimed bitmap.
    /// @param claimed Sum of rewards paid for the epoch.
    /// @param closed 0 = open, 1 = vetoed, 2 = expired, 3 = challenged.
    /// @param headerDigest The low 152 bits of `keccak256(abi.encode(header))` of the epoch's {EpochHeader}, written by
    /// its first claim (after checking the header against {Epoch}); later claims check the header they carry
    /// against it instead of reading the two {Epoch} slots. 0 until the first claim.
    struct EpochState {
        uint96 claimed;
        uint8 closed;
        uint152 headerDigest;
    }

    /// @notice What a claim needs to know of its epoch, carried in its calldata: the epoch's two committed words,
    /// as {claimHeaderOf} returns them (a claim passes them on unread; two words cost less calldata than four).
    /// @param root The committed Merkle root.
    /// @param terms ΣC (bits 0-119) · R_total (bits 120-215) · `claimableAt` on the pool clock (bits 216-255): the
    /// {Epoch} slot after the root, in its storage layout.
    struct EpochHeader {
        bytes32 root;
        uint256 terms;
    }

    /// @notice The pool-wide accounting and pause state (one slot, 96 + 96 + 32 + 32 bits).
    /// @param reserved What committed epochs still owe (Σ rewardTotal − claimed over live epochs).
    /// @param unreserved What the pool holds for future epochs, as booked.
    /// @param lastEpoch The latest epoch committed (vetoed epochs included).
    /// @param pauseClock The top bit is set while paused; the low 31 bits count the seconds spent paused before the
    /// current pause (68 years fit).
    struct Ledger {
        uint96 reserved;
        uint96 unreserved;
        uint32 lastEpoch;
        uint32 pauseClock;
    }

    /// @notice The admin's parameters and the start of the current pause (one slot, 24 + 40 + 40 + 96 + 16 + 8 bits).
    /// @param challengeWindow Seconds of pool time an epoch stays pending after its commitment.
    /// @param pausedAt When the current pause began (0 when not paused).
    /// @param claimPeriod Seconds of pool time an epoch stays claimable before it can be expired.
    /// @param rewardCap Largest rewardTotal of one epoch, in token units.
    /// @param rewardCapBps Largest rewardTotal of one epoch as a share of the unreserved balance, in basis points.
    /// @param flagsMirrored Whether Reputation mirrors its flags into the pool ({onFlagMirrorLinked}).
    struct Terms {
        uint24 challengeWindow;
        uint40 pausedAt;
        uint40 claimPeriod;
        uint96 rewardCap;
        uint16 rewardCapBps;
        bool flagsMirrored;
    }

    /// @notice An open challenge of an epoch (two slots).
    /// @param challenger Who posted the bond; receives it back (plus the reward) if the challenge is upheld.
    /// @param bond The bond posted, held apart from the reserved and unreserved balances.
    /// @param id The challenge's number among every challenge the pool has seen (1, 2, …; {challengeCount}): what
    /// the keepers' signatures of a resolution name, so that they resolve this challenge and no later one of the
    /// same epoch (or of its re-commitment).
    struct Challenge {
        address challenger;
        uint96 bond;
        uint64 id;
    }

    /// @notice One epoch's claim in {claimMany}.
    struct Claim {
        uint64 epoch;
        EpochHeader header;
        uint256 index;
        uint256 contribution;
        bytes32[] proof;
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice Role allowed to commit epochs.
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    /// @notice Role allowed to veto pending epochs and to pause.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Lower bound of the challenge window: a root must stay vetoable and challengeable for some time
    /// (a window of 0 made it claimable in its commit block). Ten minutes is enough for a guardian's or a
    /// watcher's bot to notice a wrong root and act; deployments use hours (docs/deploy.md).
    uint256 public constant MIN_CHALLENGE_WINDOW = 10 minutes;
    /// @notice Upper bound of the challenge window.
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    /// @notice Lower bound of the claim period, so holders always have time to claim.
    uint256 public constant MIN_CLAIM_PERIOD = 1 days;
    /// @notice Upper bound of the claim period.
    uint256 public constant MAX_CLAIM_PERIOD = 3650 days;

    uint8 private constant _OPEN = 0;
    uint8 private constant _VETOED = 1;
    uint8 private constant _EXPIRED = 2;
    uint8 private constant _CHALLENGED = 3;
    uint256 private constant _BPS = 10_000;
    uint32 private constant _PAUSED_BIT = 1 << 31;
    uint32 private constant _PAUSED_TOTAL_MASK = _PAUSED_BIT - 1;

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The reward token.
    IERC20 public immutable token;
    /// @notice The Reputation contract whose flags block claims.
    IReputation public immutable reputation;

    // Slot 1: the only pool-wide slot a claim touches, and only to read it: the pause state and the pool clock's offset
    // (a claim books nothing pool-wide). A commitment reads and writes it once.
    Ledger private _ledger;
    // Slot 2: what a commitment reads besides slot 1; written only by the admin and by pause/unpause.
    Terms private _terms;

    /// @notice Bond a challenger posts (0: challenges closed).
    uint96 public challengeBond;
    /// @notice Paid to the challenger of an upheld challenge, from the unreserved balance (at most all of it).
    uint96 public challengeReward;
    /// @notice How many challenges were ever opened: the latest challenge's id.
    uint64 public challengeCount;
    /// @notice Challenge bonds held by the pool: neither reserved nor unreserved.
    uint256 public bonded;

    mapping(uint256 epoch => Epoch data) private _epochs;
    mapping(uint256 epoch => EpochState state) private _states;
    // Claimed flags: one word holds 32 consecutive leaf indices × 8 consecutive epochs, so an account that keeps
    // its index across epochs (the keeper assigns stable indices) finds the word already written when it claims
    // several epochs: every epoch after the first of a group of 8 costs a warm write instead of a fresh slot.
    mapping(uint256 epochGroup => mapping(uint256 indexGroup => uint256 bits)) private _claimedBitmap;
    mapping(uint256 epoch => Challenge challenge) private _challenges;
    // Reputation's flags, mirrored here by Reputation itself ({setFlagged}): a claim reads one local slot instead of
    // calling Reputation (a cold account and a cold slot).
    mapping(address account => bool flagged) private _flagged;

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
    /// @notice The leaf `index` of `epoch` was already claimed — by this very leaf, or, if the committed tree
    /// repeats the index (a faulty tree the guardian should have vetoed), by the other leaf with that index.
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
    /// @notice `rewardTotal` of `epoch` is above the absolute cap `cap`.
    error RewardPoolRewardAboveCap(uint256 epoch, uint256 rewardTotal, uint256 cap);
    /// @notice `rewardTotal` of `epoch` is above `capBps` basis points of the `unreserved` balance.
    error RewardPoolRewardAboveShare(uint256 epoch, uint256 rewardTotal, uint256 unreserved, uint256 capBps);
    /// @notice A cap is zero, or the share is above 10,000 basis points.
    error RewardPoolInvalidCap(uint256 cap, uint256 capBps);
    /// @notice The operation is refused while the pool is paused.
    error RewardPoolPaused();
    /// @notice The pool is not paused.
    error RewardPoolNotPaused();
    /// @notice The epoch is challenged: frozen until the challenge is resolved.
    error RewardPoolEpochChallenged(uint256 epoch);
    /// @notice The epoch has no open challenge.
    error RewardPoolNotChallenged(uint256 epoch);
    /// @notice The challenge bond is 0: challenges are closed.
    error RewardPoolChallengesClosed();
    /// @notice The resolution names challenge `challengeId`, but the open challenge of `epoch` is `openId`.
    error RewardPoolWrongChallenge(uint256 epoch, uint256 challengeId, uint256 openId);
    /// @notice The claim's epoch header is not the committed one ({claimHeaderOf} gives it).
    error RewardPoolWrongHeader(uint256 epoch);
    /// @notice Only the Reputation contract may mirror flags; `caller` is not it.
    error RewardPoolNotReputation(address caller);
    /// @notice Reputation does not mirror its flags into the pool yet, so no epoch can be committed
    /// ({Reputation.setFlagMirror}).
    error RewardPoolFlagsNotMirrored();

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice An epoch was committed (claimable from `epochOf(epoch).claimableAt`: commit time + challenge window,
    /// later if the pool is paused or the epoch challenged meanwhile).
    event EpochCommitted(uint256 indexed epoch, bytes32 root, uint256 totalContribution, uint256 rewardTotal);
    /// @notice A pending epoch was vetoed by `guardian`; its reward is unreserved again.
    event EpochVetoed(uint256 indexed epoch, address indexed guardian, uint256 released);
    /// @notice An epoch's claim period ended; `released` unclaimed tokens are unreserved again.
    event EpochExpired(uint256 indexed epoch, uint256 released);
    /// @notice `account` claimed `amount` for leaf `index` of `epoch`.
    event Claimed(uint256 indexed epoch, uint256 index, address indexed account, uint256 amount);
    /// @notice {claimMany} skipped leaf `index` of `epoch` for `account`: its proof is valid but the index was
    /// already claimed (by anyone on the account's behalf, or — in a faulty tree — by another leaf with that index).
    event ClaimSkipped(uint256 indexed epoch, uint256 index, address indexed account);
    /// @notice `account` paused the pool: claims, commitments and expiries stop, and so do the pool's clocks.
    event Paused(address account);
    /// @notice `account` unpaused the pool; every deadline moved by the `pausedFor` seconds of the pause.
    event Unpaused(address account, uint256 pausedFor);
    /// @notice The reward caps changed (apply to later commitments).
    event RewardCapsSet(uint256 rewardCap, uint256 rewardCapBps);
    /// @notice The challenge terms changed (apply to later challenges).
    event ChallengeTermsSet(uint256 bond, uint256 reward);
    /// @notice `challenger` challenged pending `epoch` with `bond`: the epoch is frozen until resolved.
    event EpochChallenged(uint256 indexed epoch, address indexed challenger, uint256 bond);
    /// @notice The challenge of `epoch` was upheld by `resolver`: the epoch is vetoed, the challenger got its
    /// `bond` back plus `reward`.
    event ChallengeUpheld(
        uint256 indexed epoch,
        address indexed challenger,
        address resolver,
        uint256 bond,
        uint256 reward
    );
    /// @notice The challenge of `epoch` was rejected by `resolver`: the `bond` joined the unreserved balance.
    event ChallengeRejected(uint256 indexed epoch, address indexed challenger, address resolver, uint256 bond);
    /// @notice The challenge window changed (applies to later commitments).
    event ChallengeWindowSet(uint256 challengeWindow);
    /// @notice The claim period changed (applies to every epoch not yet expired).
    event ClaimPeriodSet(uint256 claimPeriod);
    /// @notice `from` funded the pool with `amount` unreserved tokens.
    event Funded(address indexed from, uint256 amount);
    /// @notice `amount` tokens sent to the pool by plain transfer were added to the unreserved balance.
    event Synced(uint256 amount);
    /// @notice Reputation mirrors its flags into the pool from now on.
    event FlagsMirrored(address indexed reputation);

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the pool.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants roles, sets windows).
    /// @param token_ The reward token.
    /// @param reputation_ The Reputation contract whose flags block claims.
    /// @param challengeWindow_ Seconds an epoch stays pending (10 minutes to 30 days).
    /// @dev The reward caps start open (no absolute cap, 100 % of the unreserved balance) and challenges closed
    /// (bond 0); the deployment sets both ({setRewardCaps}, {setChallengeTerms}; ignition/modules/Lumora.ts).
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
        _setRewardCaps(type(uint96).max, _BPS);
    }

    // ────────────────────────────────────────── modifiers ─────────────────────────────────────────

    modifier whenNotPaused() {
        if (_ledger.pauseClock & _PAUSED_BIT != 0) revert RewardPoolPaused();
        _;
    }

    // ─────────────────────────────────────────── keeper ───────────────────────────────────────────

    /// @notice Commits an epoch's reward distribution.
    /// @dev Only KEEPER_ROLE, not while paused. `epoch` must be `lastEpoch + 1`, or an epoch that was vetoed.
    /// The pool must already hold `rewardTotal` unreserved tokens; they become reserved for the epoch.
    /// `rewardTotal` must not exceed {rewardCap} nor {rewardCapBps} of the unreserved balance ({maxRewardTotal}).
    /// @param epoch The epoch.
    /// @param root StandardMerkleTree root over `(epoch, index, account, contribution)` leaves.
    /// @param totalContribution ΣC over the leaves (non-zero, < 2^120).
    /// @param rewardTotal R_total to distribute (non-zero, < 2^96).
    function commitEpoch(
        uint64 epoch,
        bytes32 root,
        uint256 totalContribution,
        uint256 rewardTotal
    ) external onlyRole(KEEPER_ROLE) {
        Ledger memory ledger = _ledger;
        if (ledger.pauseClock & _PAUSED_BIT != 0) revert RewardPoolPaused();
        uint256 next;
        unchecked {
            next = uint256(ledger.lastEpoch) + 1; // lastEpoch is a uint32
        }
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
        Terms memory terms = _terms;
        if (!terms.flagsMirrored) revert RewardPoolFlagsNotMirrored();
        if (rewardTotal > terms.rewardCap) revert RewardPoolRewardAboveCap(epoch, rewardTotal, terms.rewardCap);
        uint256 available = ledger.unreserved;
        uint256 share;
        uint256 allowed;
        unchecked {
            // rewardTotal < 2^96, available < 2^96 and rewardCapBps < 2^16: the products cannot overflow.
            share = rewardTotal * _BPS;
            allowed = available * terms.rewardCapBps;
        }
        if (rewardTotal > available || share > allowed) {
            available = _sync();
            ledger.unreserved = uint96(available);
            if (rewardTotal > available) revert RewardPoolInsufficientUnreserved(rewardTotal, available);
            if (share > available * terms.rewardCapBps) {
                revert RewardPoolRewardAboveShare(epoch, rewardTotal, available, terms.rewardCapBps);
            }
        }

        uint40 claimableAt;
        unchecked {
            // Not paused here, so pool time is block time minus the time paused so far (never more than block time).
            claimableAt = uint40(block.timestamp - (ledger.pauseClock & _PAUSED_TOTAL_MASK) + terms.challengeWindow);
            ledger.unreserved = uint96(available - rewardTotal);
            // reserved + unreserved never exceeds 2^96 - 1 ({fund}, {_sync}), and rewardTotal came out of unreserved.
            ledger.reserved += uint96(rewardTotal);
        }
        if (!recommit) ledger.lastEpoch = uint32(epoch);
        else delete _states[epoch];
        _ledger = ledger;
        _epochs[epoch] = Epoch({
            root: root,
            totalContribution: uint120(totalContribution),
            rewardTotal: uint96(rewardTotal),
            claimableAt: claimableAt
        });
        emit EpochCommitted(epoch, root, totalContribution, rewardTotal);
    }

    /// @notice Upholds or rejects the open challenge `challengeId` of `epoch` on the keepers' behalf, with the
    /// effects of {upholdChallenge} and {rejectChallenge} but one: an upheld challenge gets its bond back without
    /// the challenge reward. The keepers who approved an epoch can re-commit, challenge and uphold it in a loop; a
    /// reward they can trigger would let them pay the unreserved balance out to an accomplice in one transaction,
    /// past the caps and the guardian. Only the guardian's {upholdChallenge} (or {vetoEpoch}) pays the reward.
    /// @dev Only KEEPER_ROLE, also while paused. As deployed, KEEPER_ROLE is held by the EpochQuorum alone, which
    /// calls this only with the signatures of a supermajority of the keepers ({EpochQuorum.resolveChallenge}).
    /// @param epoch The challenged epoch.
    /// @param challengeId The id of its open challenge ({challengeOf}).
    /// @param upheld True to uphold the challenge (veto the epoch), false to reject it.
    function resolveChallengeByKeepers(uint64 epoch, uint64 challengeId, bool upheld) external onlyRole(KEEPER_ROLE) {
        if (_states[epoch].closed != _CHALLENGED) revert RewardPoolNotChallenged(epoch);
        uint64 openId = _challenges[epoch].id;
        if (openId != challengeId) revert RewardPoolWrongChallenge(epoch, challengeId, openId);
        _resolveChallenge(epoch, upheld, msg.sender, false);
    }

    // ────────────────────────────────────────── guardian ──────────────────────────────────────────

    /// @notice Vetoes a pending or challenged epoch: it can never be claimed, and its reward is unreserved again.
    /// @dev Only GUARDIAN_ROLE, also while paused (the pause keeps a pending epoch pending). Vetoing a challenged
    /// epoch upholds its challenge ({upholdChallenge}). The keeper may then commit a corrected distribution.
    /// @param epoch The pending or challenged epoch.
    function vetoEpoch(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        uint8 closed = _states[epoch].closed;
        if (closed == _CHALLENGED) return _resolveChallenge(epoch, true, msg.sender, true);
        if (closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
        if (_poolTime() >= e.claimableAt) revert RewardPoolEpochNotPending(epoch, _toBlockTime(e.claimableAt));
        _veto(epoch, e.rewardTotal);
    }

    /// @notice Upholds the open challenge of `epoch`: the epoch is vetoed and the challenger receives its bond
    /// plus {challengeReward} (at most the unreserved balance).
    /// @dev Only GUARDIAN_ROLE, also while paused.
    /// @param epoch The challenged epoch.
    function upholdChallenge(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        _resolveChallenge(epoch, true, msg.sender, true);
    }

    /// @notice Rejects the open challenge of `epoch`: the bond joins the unreserved balance and the epoch resumes
    /// (claimable at once if its window ended meanwhile, with a whole claim period from now).
    /// @dev Only GUARDIAN_ROLE, also while paused.
    /// @param epoch The challenged epoch.
    function rejectChallenge(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        _resolveChallenge(epoch, false, msg.sender, false);
    }

    /// @notice Pauses commitments, claims and expiries, and stops the pool's clocks: challenge windows and claim
    /// periods resume where they stopped when the pool is unpaused.
    /// @dev Only GUARDIAN_ROLE.
    function pause() external onlyRole(GUARDIAN_ROLE) {
        uint32 clock = _ledger.pauseClock;
        if (clock & _PAUSED_BIT != 0) revert RewardPoolPaused();
        _ledger.pauseClock = clock | _PAUSED_BIT;
        _terms.pausedAt = uint40(block.timestamp);
        emit Paused(msg.sender);
    }

    /// @notice Resumes commitments, claims and expiries; every deadline moves by the time spent paused.
    /// @dev Only GUARDIAN_ROLE.
    function unpause() external onlyRole(GUARDIAN_ROLE) {
        uint32 clock = _ledger.pauseClock;
        if (clock & _PAUSED_BIT == 0) revert RewardPoolNotPaused();
        uint256 pausedFor = block.timestamp - _terms.pausedAt;
        uint256 total = (clock & _PAUSED_TOTAL_MASK) + pausedFor;
        // 68 years of pauses saturate rather than revert: unpausing must always be possible.
        _ledger.pauseClock = uint32(total > _PAUSED_TOTAL_MASK ? _PAUSED_TOTAL_MASK : total);
        _terms.pausedAt = 0;
        emit Unpaused(msg.sender, pausedFor);
    }

    // ──────────────────────────────────────────── admin ───────────────────────────────────────────

    /// @notice Sets the challenge window for later commitments.
    /// @dev Only DEFAULT_ADMIN_ROLE. Between {MIN_CHALLENGE_WINDOW} and {MAX_CHALLENGE_WINDOW}.
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

    /// @notice Sets the caps of an epoch's `rewardTotal` for later commitments.
    /// @dev Only DEFAULT_ADMIN_ROLE. `cap` in 1..2^96-1 token units, `capBps` in 1..10,000.
    /// @param cap The absolute cap.
    /// @param capBps The cap as a share of the unreserved balance, in basis points.
    function setRewardCaps(uint256 cap, uint256 capBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRewardCaps(cap, capBps);
    }

    /// @notice Sets the bond a challenge costs and the reward of an upheld one (apply to later challenges).
    /// @dev Only DEFAULT_ADMIN_ROLE. A bond of 0 closes challenges.
    /// @param bond The bond, in token units (< 2^96).
    /// @param reward The reward, in token units (< 2^96).
    function setChallengeTerms(uint256 bond, uint256 reward) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setChallengeTerms(bond, reward);
    }

    // ─────────────────────────────────────────── anyone ───────────────────────────────────────────

    /// @notice Claims the reward of one leaf. Anyone may submit it; the tokens always go to `account`.
    /// @dev Not while paused, nor for a flagged account. Pays `rewardTotal * contribution / totalContribution`
    /// (rounded down). Reverts with {RewardPoolAlreadyClaimed} when the leaf's index was already claimed.
    /// @param epoch The epoch.
    /// @param header The epoch's header, as {claimHeaderOf} returns it (checked against the commitment).
    /// @param index The leaf index (keys the claimed bitmap).
    /// @param account The leaf's account, which receives the reward.
    /// @param contribution The leaf's contribution C_i.
    /// @param proof StandardMerkleTree proof of the leaf.
    /// @return amount The reward paid.
    function claim(
        uint64 epoch,
        EpochHeader calldata header,
        uint256 index,
        address account,
        uint256 contribution,
        bytes32[] calldata proof
    ) external returns (uint256 amount) {
        uint256 clockOffset = _claimClock();
        if (_flagged[account]) revert RewardPoolAccountFlagged(account);
        amount = _settle(epoch, header, index, account, contribution, proof, clockOffset, false);
        token.safeTransfer(account, amount);
    }

    /// @notice Claims several epochs for one account in one transaction, with a single token transfer.
    /// @dev Not while paused, nor for a flagged account. A leaf whose index was already claimed (someone claimed
    /// it on the account's behalf first) is skipped with {ClaimSkipped} once its proof checks, so nobody can make
    /// the batch revert by claiming one of its leaves ahead of it; any other invalid claim reverts the whole call.
    /// @param account The account that receives every reward.
    /// @param claims The leaves to claim, one per epoch, each with its epoch's header ({claimHeaderOf}).
    /// @return total The sum paid.
    function claimMany(address account, Claim[] calldata claims) external returns (uint256 total) {
        uint256 clockOffset = _claimClock();
        if (claims.length == 0) revert RewardPoolNoClaims();
        if (_flagged[account]) revert RewardPoolAccountFlagged(account);
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            total += _settle(c.epoch, c.header, c.index, account, c.contribution, c.proof, clockOffset, true);
        }
        if (total == 0) return 0;
        token.safeTransfer(account, total);
    }

    /// @notice Adds `amount` tokens from the caller (who approved the pool) to the unreserved balance.
    /// @param amount Tokens to pull with `transferFrom`.
    function fund(uint256 amount) external {
        if (amount == 0 || amount + _ledger.reserved + _ledger.unreserved > type(uint96).max)
            revert RewardPoolInvalidAmount(amount);
        _ledger.unreserved += uint96(amount);
        emit Funded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Challenges a pending epoch by posting {challengeBond} (pulled with `transferFrom`): the epoch is
    /// frozen — never claimable nor expirable — until the guardian or a keeper supermajority upholds or rejects the
    /// challenge. The challenge gets the next id ({challengeCount}, {challengeOf}).
    /// @dev Anyone, also while paused. One open challenge per epoch. See docs/security.md, "Challenges".
    /// @param epoch The pending epoch.
    function challengeEpoch(uint64 epoch) external {
        uint256 bond = challengeBond;
        if (bond == 0) revert RewardPoolChallengesClosed();
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        uint8 closed = _states[epoch].closed;
        if (closed == _CHALLENGED) revert RewardPoolEpochChallenged(epoch);
        if (closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
        if (_poolTime() >= e.claimableAt) revert RewardPoolEpochNotPending(epoch, _toBlockTime(e.claimableAt));

        uint64 id = challengeCount + 1;
        challengeCount = id;
        _states[epoch].closed = _CHALLENGED;
        _challenges[epoch] = Challenge({challenger: msg.sender, bond: uint96(bond), id: id});
        bonded += bond;
        emit EpochChallenged(epoch, msg.sender, bond);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @notice Adds tokens sent to the pool by plain transfer to the unreserved balance. Anyone may call it.
    /// @return The unreserved balance after the sync.
    function sync() external returns (uint256) {
        return _sync();
    }

    // ────────────────────────────────────────── reputation ────────────────────────────────────────

    /// @inheritdoc IFlagMirror
    /// @dev Only {reputation}.
    function setFlagged(address node, bool flagged) external {
        if (msg.sender != address(reputation)) revert RewardPoolNotReputation(msg.sender);
        _flagged[node] = flagged;
    }

    /// @inheritdoc IFlagMirror
    /// @dev Only {reputation}, which links once and before its first report, so the copy holds every flag; epochs
    /// can be committed from then on.
    function onFlagMirrorLinked() external {
        if (msg.sender != address(reputation)) revert RewardPoolNotReputation(msg.sender);
        _terms.flagsMirrored = true;
        emit FlagsMirrored(msg.sender);
    }

    /// @notice Ends the claim period of an epoch and unreserves its unclaimed rewards, so that a later epoch can
    /// distribute them. Anyone may call it once the claim period is over, except while paused; the claim period
    /// does not run while paused, so holders keep the time they had left when the pause began.
    /// @param epoch A claimable epoch whose claim period ended.
    /// @return released The unclaimed amount returned to the unreserved balance.
    function expireEpoch(uint64 epoch) external whenNotPaused returns (uint256 released) {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        EpochState memory s = _states[epoch];
        if (s.closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
        if (s.closed == _EXPIRED) revert RewardPoolEpochExpired(epoch);
        if (s.closed == _CHALLENGED) revert RewardPoolEpochChallenged(epoch);
        uint256 deadline = uint256(e.claimableAt) + _terms.claimPeriod;
        if (_poolTime() < deadline) revert RewardPoolClaimPeriodRunning(epoch, _toBlockTime(deadline));

        released = e.rewardTotal - s.claimed;
        _states[epoch].closed = _EXPIRED;
        _ledger.reserved -= e.rewardTotal;
        _ledger.unreserved += uint96(released);
        emit EpochExpired(epoch, released);
    }

    // ──────────────────────────────────────────── views ───────────────────────────────────────────

    /// @notice The latest epoch committed (vetoed epochs included).
    /// @return The epoch.
    function lastEpoch() external view returns (uint32) {
        return _ledger.lastEpoch;
    }

    /// @notice Seconds (of pool time, which stops while paused) an epoch stays pending after its commitment.
    /// @return The window in seconds.
    function challengeWindow() external view returns (uint256) {
        return _terms.challengeWindow;
    }

    /// @notice Seconds (of pool time) an epoch stays claimable before it can be expired.
    /// @return The period in seconds.
    function claimPeriod() external view returns (uint256) {
        return _terms.claimPeriod;
    }

    /// @notice Largest `rewardTotal` of one epoch, in token units.
    /// @return The absolute cap.
    function rewardCap() external view returns (uint256) {
        return _terms.rewardCap;
    }

    /// @notice Largest `rewardTotal` of one epoch as a share of the unreserved balance, in basis points.
    /// @return The share cap.
    function rewardCapBps() external view returns (uint256) {
        return _terms.rewardCapBps;
    }

    /// @notice Σ rewardTotal over live epochs (committed, neither vetoed nor expired), the part already claimed
    /// included: claims write nothing pool-wide, so this falls when an epoch is vetoed or expires, not with each
    /// claim. What live epochs still owe is this minus their `claimed` ({epochOf}).
    /// @return The reserved amount.
    function reserved() external view returns (uint256) {
        return _ledger.reserved;
    }

    /// @notice What a new epoch may distribute: the unreserved balance as booked plus the plain transfers that
    /// {sync} would book now ({commitEpoch} syncs them when it needs to).
    /// @return The unreserved balance.
    function unreservedBalance() public view returns (uint256) {
        return _ledger.unreserved + _surplus(_ledger.reserved, _ledger.unreserved);
    }

    /// @notice The largest `rewardTotal` {commitEpoch} accepts now: the unreserved balance (unsynced transfers
    /// included), at most {rewardCap} and {rewardCapBps} of it. A keeper commits at most this much.
    /// @return The largest reward an epoch may distribute.
    function maxRewardTotal() external view returns (uint256) {
        uint256 available = unreservedBalance();
        uint256 room = type(uint96).max - _ledger.reserved;
        if (available > room) available = room;
        return Math.min(_terms.rewardCap, (available * _terms.rewardCapBps) / _BPS);
    }

    /// @notice Whether the pool is paused.
    /// @return True while paused.
    function paused() public view returns (bool) {
        return _ledger.pauseClock & _PAUSED_BIT != 0;
    }

    /// @notice Seconds the pool has spent paused since its deployment, the current pause included: every deadline
    /// is later by this much than it would be without pauses.
    /// @return The paused time in seconds.
    function pausedTotal() public view returns (uint256) {
        uint32 clock = _ledger.pauseClock;
        uint256 total = clock & _PAUSED_TOTAL_MASK;
        if (clock & _PAUSED_BIT != 0) total += block.timestamp - _terms.pausedAt;
        return total;
    }

    /// @notice The open challenge of `epoch` (zero when none).
    /// @param epoch The epoch.
    /// @return The challenger, its bond and the challenge's id.
    function challengeOf(uint256 epoch) external view returns (Challenge memory) {
        return _challenges[epoch];
    }

    /// @notice The unreserved balance as booked (funded or synced).
    /// @return The accounted unreserved balance.
    function accountedUnreserved() external view returns (uint256) {
        return _ledger.unreserved;
    }

    /// @notice The committed data of `epoch` (all zero when never committed).
    /// @dev `claimableAt` is in block time: commit time + challenge window + the time paused since (while paused,
    /// as if the pool were unpaused now); it moves later with every pause that starts before it and with a
    /// challenge rejected after it.
    /// @param epoch The epoch.
    /// @return data The commitment.
    /// @return claimed The sum paid so far.
    function epochOf(uint256 epoch) external view returns (Epoch memory data, uint256 claimed) {
        data = _epochs[epoch];
        if (data.root != bytes32(0)) data.claimableAt = uint40(_toBlockTime(data.claimableAt));
        claimed = _states[epoch].claimed;
    }

    /// @notice The header a claim of `epoch` carries ({claim}, {claimMany}): the commitment, `claimableAt` on the
    /// pool clock. Fixed once the epoch is claimable (all zero when never committed).
    /// @param epoch The epoch.
    /// @return header The header.
    function claimHeaderOf(uint256 epoch) external view returns (EpochHeader memory header) {
        Epoch memory e = _epochs[epoch];
        header = EpochHeader(e.root, _termsWord(e));
    }

    /// @notice Whether `account` is flagged, as mirrored from Reputation (claims read this copy).
    /// @param account The account.
    /// @return True while flagged.
    function isFlagged(address account) external view returns (bool) {
        return _flagged[account];
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
        if (closed == _CHALLENGED) return EpochStatus.Challenged;
        return _poolTime() < e.claimableAt ? EpochStatus.Pending : EpochStatus.Claimable;
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
    /// @return The reward, or 0 for an unknown, vetoed or expired epoch (a challenged one keeps its figure).
    function rewardFor(uint256 epoch, uint256 contribution) external view returns (uint256) {
        Epoch memory e = _epochs[epoch];
        uint8 closed = _states[epoch].closed;
        if (e.root == bytes32(0) || closed == _VETOED || closed == _EXPIRED) return 0;
        return Math.mulDiv(e.rewardTotal, contribution, e.totalContribution);
    }

    /// @notice The StandardMerkleTree leaf of a reward entry.
    /// @param epoch The epoch.
    /// @param index The leaf index.
    /// @param account The account.
    /// @param contribution The contribution.
    /// @return The leaf hash.
    function leafOf(uint64 epoch, uint256 index, address account, uint256 contribution) public pure returns (bytes32) {
        return _leaf(epoch, index, account, contribution);
    }

    // ─────────────────────────────────────────── internal ─────────────────────────────────────────

    /// @dev Checks one claim, marks it claimed and books the payment against its epoch; returns the amount (the
    /// caller transfers it). Reads and writes one slot of the epoch ({EpochState}) besides the claimed bitmap: the
    /// epoch's commitment comes from `header`, checked against the digest its first claim stored. With
    /// `skipClaimed`, a leaf whose index is already claimed returns 0 with {ClaimSkipped} (after its proof checked)
    /// instead of reverting. `clockOffset` is the pool clock's offset ({_claimClock}).
    function _settle(
        uint64 epoch,
        EpochHeader calldata header,
        uint256 index,
        address account,
        uint256 contribution,
        bytes32[] calldata proof,
        uint256 clockOffset,
        bool skipClaimed
    ) internal returns (uint256 amount) {
        EpochState storage state = _states[epoch];
        uint8 closed = state.closed;
        if (closed != _OPEN) {
            if (closed == _VETOED) revert RewardPoolEpochVetoed(epoch);
            if (closed == _EXPIRED) revert RewardPoolEpochExpired(epoch);
            revert RewardPoolEpochChallenged(epoch);
        }
        uint152 digest = _headerDigest(header);
        uint152 stored = state.headerDigest;
        if (stored != digest) {
            if (stored != 0) revert RewardPoolWrongHeader(epoch);
            _checkHeader(epoch, header);
            state.headerDigest = digest;
        }
        uint256 claimableAt = header.terms >> 216;
        if (block.timestamp - clockOffset < claimableAt)
            revert RewardPoolEpochPending(epoch, claimableAt + clockOffset);

        bool fresh = _markClaimed(epoch, index);
        if (!MerkleProof.verifyCalldata(proof, header.root, _leaf(epoch, index, account, contribution))) {
            revert RewardPoolInvalidProof(epoch, account);
        }
        if (!fresh) {
            if (!skipClaimed) revert RewardPoolAlreadyClaimed(epoch, index);
            emit ClaimSkipped(epoch, index, account);
            return 0;
        }

        // The header matched the commitment, so rewardTotal < 2^96 and the product below fits 256 bits unless the
        // contribution is 2^160 or more — and then the reward would exceed rewardTotal anyway.
        uint256 rewardTotal = uint96(header.terms >> 120);
        if (contribution >> 160 != 0) revert RewardPoolEpochOverdrawn(epoch);
        amount = (rewardTotal * contribution) / uint120(header.terms);
        uint256 claimed = state.claimed + amount;
        if (claimed > rewardTotal) revert RewardPoolEpochOverdrawn(epoch);
        state.claimed = uint96(claimed);
        emit Claimed(epoch, index, account, amount);
    }

    /// @dev The first claim of an epoch: `header` must be the committed epoch's ({claimHeaderOf}).
    function _checkHeader(uint64 epoch, EpochHeader calldata header) internal view {
        Epoch memory e = _epochs[epoch];
        if (e.root == bytes32(0)) revert RewardPoolUnknownEpoch(epoch);
        if (header.root != e.root || header.terms != _termsWord(e)) revert RewardPoolWrongHeader(epoch);
    }

    /// @dev The {EpochHeader} `terms` word of a committed epoch.
    function _termsWord(Epoch memory e) internal pure returns (uint256) {
        return uint256(e.totalContribution) | (uint256(e.rewardTotal) << 120) | (uint256(e.claimableAt) << 216);
    }

    /// @dev 152 bits of the header's hash: a different header with the same digest takes ~2^152 hashes to find (and
    /// ~2^76 for a pair chosen together, which only a committer could use, on a root it already controls).
    function _headerDigest(EpochHeader calldata header) internal pure returns (uint152 digest) {
        // keccak256(abi.encode(header)), hashed where it lies: the header is two static words, copied to the scratch
        // space instead of an allocated buffer (the claim path's hot spot, docs/gas.md).
        assembly ("memory-safe") {
            calldatacopy(0x00, header, 0x40)
            digest := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @dev `keccak256(bytes.concat(keccak256(abi.encode(epoch, index, account, contribution))))`, the
    /// StandardMerkleTree leaf, without allocating: the encoding is written past the free memory pointer (not moved,
    /// so the memory is merely borrowed) and the inner hash in the scratch space. Saves the two buffers that
    /// `abi.encode` and `bytes.concat` allocate, on every claim.
    function _leaf(
        uint64 epoch,
        uint256 index,
        address account,
        uint256 contribution
    ) internal pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, and(epoch, 0xffffffffffffffff))
            mstore(add(m, 0x20), index)
            mstore(add(m, 0x40), and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x60), contribution)
            mstore(0x00, keccak256(m, 0x80))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev The claim path's one read of the pool-wide slot: reverts while paused, else returns the pool clock's
    /// offset (pool time = block time − offset).
    function _claimClock() internal view returns (uint256) {
        uint32 clock = _ledger.pauseClock;
        if (clock & _PAUSED_BIT != 0) revert RewardPoolPaused();
        return clock;
    }

    /// @dev Sets the claimed bit of leaf `index`; returns false (writing nothing) if it was already set. The whole
    /// claim reverts (and the bit with it) when a later check fails.
    function _markClaimed(uint256 epoch, uint256 index) internal returns (bool fresh) {
        mapping(uint256 indexGroup => uint256 bits) storage words = _claimedBitmap[epoch >> 3];
        uint256 bits = words[index >> 5];
        uint256 bit = _claimedBit(epoch, index);
        if (bits & bit != 0) return false;
        words[index >> 5] = bits | bit;
        return true;
    }

    /// @dev Bit of (epoch, index) inside its word: 32 bits per epoch of the group, one per index of the group.
    function _claimedBit(uint256 epoch, uint256 index) internal pure returns (uint256) {
        return 1 << (((epoch & 7) << 5) | (index & 31));
    }

    /// @dev Vetoes an open epoch: it can never be claimed, and its reward is unreserved again.
    function _veto(uint64 epoch, uint96 rewardTotal) internal {
        _states[epoch].closed = _VETOED;
        _ledger.reserved -= rewardTotal;
        _ledger.unreserved += rewardTotal;
        emit EpochVetoed(epoch, msg.sender, rewardTotal);
    }

    /// @dev Resolves the open challenge of `epoch`. The one place a challenge ends: the guardian's functions and
    /// the keepers' ({resolveChallengeByKeepers}) call it, with `resolver` the address recorded in the events;
    /// `rewarded` says whether an upheld challenge earns the challenge reward (only when the guardian upholds).
    function _resolveChallenge(uint64 epoch, bool upheld, address resolver, bool rewarded) internal {
        if (_states[epoch].closed != _CHALLENGED) revert RewardPoolNotChallenged(epoch);
        Challenge memory c = _challenges[epoch];
        delete _challenges[epoch];
        bonded -= c.bond;
        if (upheld) {
            _veto(epoch, _epochs[epoch].rewardTotal);
            uint256 reward = rewarded ? Math.min(challengeReward, _ledger.unreserved) : 0;
            _ledger.unreserved -= uint96(reward);
            emit ChallengeUpheld(epoch, c.challenger, resolver, c.bond, reward);
            token.safeTransfer(c.challenger, c.bond + reward);
        } else {
            _states[epoch].closed = _OPEN;
            // The challenge froze the epoch: if its window ended meanwhile, it is claimable from now on, with a
            // whole claim period ahead.
            uint256 now_ = _poolTime();
            if (_epochs[epoch].claimableAt < now_) _epochs[epoch].claimableAt = uint40(now_);
            _ledger.unreserved += c.bond;
            emit ChallengeRejected(epoch, c.challenger, resolver, c.bond);
        }
    }

    /// @dev The pool's clock: block time minus every second spent paused, frozen while paused. Challenge windows
    /// and claim periods run on it, so a pause stops them.
    function _poolTime() internal view returns (uint256) {
        uint32 clock = _ledger.pauseClock;
        uint256 at = clock & _PAUSED_BIT != 0 ? _terms.pausedAt : block.timestamp;
        return at - (clock & _PAUSED_TOTAL_MASK);
    }

    /// @dev A pool-clock time in block time (while paused: as if the pool were unpaused now).
    function _toBlockTime(uint256 poolTime) internal view returns (uint256) {
        return poolTime + pausedTotal();
    }

    /// @dev Books every token held beyond `reserved + unreserved + bonded` as unreserved (capped to the 96-bit
    /// accounting) and returns the new unreserved balance. `reserved` still counts what live epochs paid out, so a
    /// plain transfer is booked only beyond that (the rest once those epochs expire): {fund} books at once.
    function _sync() internal returns (uint256 unreserved) {
        uint256 reservedNow = _ledger.reserved;
        unreserved = _ledger.unreserved;
        uint256 surplus = _surplus(reservedNow, unreserved);
        uint256 room = type(uint96).max - reservedNow - unreserved;
        if (surplus > room) surplus = room;
        if (surplus == 0) return unreserved;
        unreserved += surplus;
        _ledger.unreserved = uint96(unreserved);
        emit Synced(surplus);
    }

    /// @dev Tokens held beyond `reservedNow + unreserved + bonded` (0 when claims of live epochs took more).
    function _surplus(uint256 reservedNow, uint256 unreserved) internal view returns (uint256) {
        uint256 held = token.balanceOf(address(this));
        uint256 accounted = reservedNow + unreserved + bonded;
        return held > accounted ? held - accounted : 0;
    }

    function _setChallengeWindow(uint256 seconds_) internal {
        if (seconds_ < MIN_CHALLENGE_WINDOW || seconds_ > MAX_CHALLENGE_WINDOW)
            revert RewardPoolInvalidWindow(seconds_);
        _terms.challengeWindow = uint24(seconds_);
        emit ChallengeWindowSet(seconds_);
    }

    function _setClaimPeriod(uint256 seconds_) internal {
        // Never shorter than before: the period applies to epochs already committed, whose holders rely on it.
        if (seconds_ < MIN_CLAIM_PERIOD || seconds_ > MAX_CLAIM_PERIOD || seconds_ < _terms.claimPeriod) {
            revert RewardPoolInvalidWindow(seconds_);
        }
        _terms.claimPeriod = uint40(seconds_);
        emit ClaimPeriodSet(seconds_);
    }

    function _setChallengeTerms(uint256 bond, uint256 reward) internal {
        if (bond > type(uint96).max) revert RewardPoolInvalidAmount(bond);
        if (reward > type(uint96).max) revert RewardPoolInvalidAmount(reward);
        challengeBond = uint96(bond);
        challengeReward = uint96(reward);
        emit ChallengeTermsSet(bond, reward);
    }

    function _setRewardCaps(uint256 cap, uint256 capBps) internal {
        if (cap == 0 || cap > type(uint96).max || capBps == 0 || capBps > _BPS)
            revert RewardPoolInvalidCap(cap, capBps);
        _terms.rewardCap = uint96(cap);
        _terms.rewardCapBps = uint16(capBps);
        emit RewardCapsSet(cap, capBps);
    }
}
