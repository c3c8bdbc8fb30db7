// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Reputation} from "./Reputation.sol";
import {RewardPool} from "./RewardPool.sol";
import {TaskLog} from "./TaskLog.sol";

/// @title EpochQuorum
/// @notice Accepts an epoch's commitments (TaskLog, Reputation, RewardPool) only with the EIP-712 signatures of at
/// least `threshold` of the registered keepers over one digest. Anyone may submit them: the signatures, not the
/// sender, carry the authority. This contract is the only holder of KEEPER_ROLE on the three contracts, so no single
/// keeper key moves the pool.
/// @dev The digest is the EIP-712 hash (domain: name "Lumora EpochQuorum", version "1", the chain id and this
/// contract's address, so a signature replays neither on another chain nor on another deployment) of
/// `EpochCommitment(uint64 epoch,bytes32 taskRoot,uint64 taskCount,string taskUri,bytes32 rewardRoot,
/// uint256 totalContribution,uint256 rewardTotal,bytes32 reportsRoot,bytes32 evidenceHash)`.
/// Signatures are 65 bytes each (r, s, v), concatenated with their signers in strictly ascending address order:
/// one comparison per signature rejects a repeated signer without any storage.
///
/// Reputation reports may need several transactions: the keepers sign `reportsRoot`, the root of a
/// StandardMerkleTree over the epoch's report batches (leaf type `["bytes32"]`, the value of a batch being
/// `keccak256(abi.encodePacked(reports))`). {commitEpoch} may carry the first batch; when the tree has more
/// leaves its root is stored and anyone applies the other batches with {applyReports}. A batch cannot be applied
/// twice: Reputation refuses a node already reported for the epoch.
///
/// The evidence hash (the epoch's receipts, and the signed health observations its reports were merged from:
/// docs/epochs.md "The observation set on chain") is not stored: it is part of the signed digest and emitted by
/// {EpochApproved}, which binds the on-chain roots to the published evidence.
///
/// Threshold: `1 <= threshold <= keeperCount` is enforced. A threshold above half of the keepers is recommended
/// (docs/security.md): two disjoint quorums then cannot both exist, and a minority of keys can move nothing.
///
/// Challenges: a supermajority of the keepers — {supermajority}: `max(threshold, ⌈2n/3⌉)` of the n registered
/// keepers — may resolve an open challenge of a RewardPool epoch ({resolveChallenge}), as the guardian may. They
/// sign the EIP-712 struct `ChallengeResolution(uint64 epoch,uint64 challengeId,bool upheld)` under the same domain
/// (so neither another chain nor another deployment accepts it); the challenge's id (RewardPool.challengeOf) makes
/// the signatures good for that one challenge, never for a later challenge of the same epoch or of its
/// re-commitment.
contract EpochQuorum is AccessControl, EIP712 {
    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice What the keepers sign for one epoch.
    /// @param epoch The epoch.
    /// @param taskRoot TaskLog root of the epoch's task records.
    /// @param taskCount Number of task records under `taskRoot`.
    /// @param taskUri Where the record set is published (emitted by TaskLog).
    /// @param rewardRoot RewardPool root of the epoch's reward leaves.
    /// @param totalContribution ΣC over the reward leaves.
    /// @param rewardTotal R_total of the epoch.
    /// @param reportsRoot Root of the Reputation report batches (zero: no reports).
    /// @param evidenceHash hash of the epoch's published evidence: its receipts and observation set.
    struct EpochCommitment {
        uint64 epoch;
        bytes32 taskRoot;
        uint64 taskCount;
        string taskUri;
        bytes32 rewardRoot;
        uint256 totalContribution;
        uint256 rewardTotal;
        bytes32 reportsRoot;
        bytes32 evidenceHash;
    }

    /// @notice The keeper set's size and the threshold (one slot).
    /// @param threshold Signatures needed.
    /// @param keeperCount Registered keepers.
    struct Quorum {
        uint8 threshold;
        uint8 keeperCount;
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice EIP-712 type hash of {EpochCommitment}.
    bytes32 public constant EPOCH_COMMITMENT_TYPEHASH = keccak256(
        "EpochCommitment(uint64 epoch,bytes32 taskRoot,uint64 taskCount,string taskUri,bytes32 rewardRoot,"
        "uint256 totalContribution,uint256 rewardTotal,bytes32 reportsRoot,bytes32 evidenceHash)"
    );
    /// @notice EIP-712 type hash of a challenge resolution.
    bytes32 public constant CHALLENGE_RESOLUTION_TYPEHASH = keccak256(
        "ChallengeResolution(uint64 epoch,uint64 challengeId,bool upheld)"
    );
    /// @notice Most keepers in the set: a commit recovers up to this many signatures, so it stays cheap, and the
    /// set fits a uint8.
    uint256 public constant MAX_KEEPERS = 64;
    /// @notice Length of one signature (r, s, v).
    uint256 public constant SIGNATURE_LENGTH = 65;

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The TaskLog this quorum commits to.
    TaskLog public immutable taskLog;
    /// @notice The Reputation this quorum reports to.
    Reputation public immutable reputation;
    /// @notice The RewardPool this quorum commits to.
    RewardPool public immutable rewardPool;

    Quorum private _quorum;
    address[] private _keepers;
    // Position of a keeper in `_keepers`, plus one (0: not a keeper): membership in one read, removal in O(1).
    mapping(address keeper => uint256 position) private _positions;
    mapping(uint256 epoch => bytes32 root) private _reportsRoots;

    // ─────────────────────────────────────────── errors ───────────────────────────────────────────

    /// @notice A constructor argument is the zero address.
    error EpochQuorumZeroAddress();
    /// @notice The signatures are not a whole number of 65-byte signatures.
    error EpochQuorumMalformedSignatures(uint256 length);
    /// @notice `count` signatures were given, `threshold` are needed.
    error EpochQuorumNotEnoughSignatures(uint256 count, uint256 threshold);
    /// @notice Signature `index` is not a valid signature (malformed, or `s` in the upper half).
    error EpochQuorumInvalidSignature(uint256 index);
    /// @notice The signer of signature `index` is not above the previous signer (a repeat, or out of order).
    error EpochQuorumSignersNotAscending(uint256 index, address signer);
    /// @notice `signer` is not a registered keeper (never was, was removed, or signed another digest).
    error EpochQuorumNotKeeper(address signer);
    /// @notice `keeper` is already registered.
    error EpochQuorumAlreadyKeeper(address keeper);
    /// @notice The keeper set would exceed {MAX_KEEPERS}.
    error EpochQuorumTooManyKeepers();
    /// @notice `threshold` is outside 1..`keeperCount`.
    error EpochQuorumInvalidThreshold(uint256 threshold, uint256 keeperCount);
    /// @notice Reports were given for an epoch whose commitment has no reports root, or with a wrong proof.
    error EpochQuorumInvalidReports(uint256 epoch);
    /// @notice The TaskLog holds another commitment for `epoch` than the one re-committed.
    error EpochQuorumTaskLogMismatch(uint256 epoch);

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice A keeper supermajority resolved challenge `challengeId` of `epoch` (`upheld` or rejected).
    /// @param epoch The challenged epoch.
    /// @param challengeId The challenge's id in RewardPool.
    /// @param upheld True when the challenge was upheld (the epoch vetoed).
    /// @param digest The EIP-712 digest the keepers signed.
    /// @param signers Bit i set: the keeper at position i of {keepers} (at this block) signed.
    event ChallengeResolutionApproved(
        uint256 indexed epoch,
        uint256 indexed challengeId,
        bool upheld,
        bytes32 digest,
        uint256 signers
    );
    /// @notice `keeper` joined the keeper set.
    event KeeperAdded(address indexed keeper);
    /// @notice `keeper` left the keeper set: its signatures no longer count.
    event KeeperRemoved(address indexed keeper);
    /// @notice The number of signatures an epoch needs changed.
    event ThresholdSet(uint256 threshold, uint256 keeperCount);
    /// @notice A quorum approved `epoch`'s commitment with `digest`; `evidenceHash` names its evidence bundle.
    /// @param epoch The epoch.
    /// @param digest The EIP-712 digest the keepers signed.
    /// @param evidenceHash hash of the published evidence: receipts and observation set.
    /// @param reportsRoot Root of the Reputation report batches.
    /// @param signers Bit i set: the keeper at position i of {keepers} (at this block) signed. The signatures
    /// themselves are in the transaction's calldata.
    event EpochApproved(
        uint256 indexed epoch,
        bytes32 digest,
        bytes32 evidenceHash,
        bytes32 reportsRoot,
        uint256 signers
    );

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the quorum over the three contracts with an initial keeper set and threshold.
    /// @dev The quorum needs KEEPER_ROLE on the three contracts, granted by their admin (ignition/modules).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (changes the keeper set and the threshold).
    /// @param taskLog_ The TaskLog.
    /// @param reputation_ The Reputation.
    /// @param rewardPool_ The RewardPool.
    /// @param keepers_ The initial keepers.
    /// @param threshold_ The initial threshold (1..keepers_.length).
    constructor(
        address admin,
        TaskLog taskLog_,
        Reputation reputation_,
        RewardPool rewardPool_,
        address[] memory keepers_,
        uint256 threshold_
    ) EIP712("Lumora EpochQuorum", "1") {
        if (
            admin == address(0) ||
            address(taskLog_) == address(0) ||
            address(reputation_) == address(0) ||
            address(rewardPool_) == address(0)
        ) revert EpochQuorumZeroAddress();
        taskLog = taskLog_;
        reputation = reputation_;
        rewardPool = rewardPool_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < keepers_.length; ++i) _addKeeper(keepers_[i]);
        _setThreshold(threshold_);
    }

    // ─────────────────────────────────────────── anyone ───────────────────────────────────────────

    /// @notice Commits an epoch to TaskLog and RewardPool (and its first report batch to Reputation) with the
    /// keepers' signatures. Anyone may submit it.
    /// @dev The contracts' own checks apply (consecutive epochs, caps, pause). When the reports tree has more than
    /// one batch (`reportsProof` not empty), its root is stored for {applyReports}.
    /// @param c The signed commitment.
    /// @param reports The first batch of packed reports (Reputation.encodeReport), or none.
    /// @param reportsProof StandardMerkleTree proof of that batch under `c.reportsRoot`.
    /// @param signatures At least `threshold` 65-byte signatures of `digestOf(c)`, signers ascending.
    function commitEpoch(
        EpochCommitment calldata c,
        bytes32[] calldata reports,
        bytes32[] calldata reportsProof,
        bytes calldata signatures
    ) external {
        _approve(c, signatures);
        taskLog.commit(c.epoch, c.taskRoot, c.taskCount, c.taskUri);
        if (reports.length > 0) {
            _checkBatch(c.reportsRoot, c.epoch, reports, reportsProof);
            reputation.applyReports(c.epoch, reports);
        }
        // A one-batch tree applied here needs nothing stored; otherwise the other batches come later.
        if (c.reportsRoot != bytes32(0) && (reports.length == 0 || reportsProof.length > 0)) {
            _reportsRoots[c.epoch] = c.reportsRoot;
        }
        rewardPool.commitEpoch(c.epoch, c.rewardRoot, c.totalContribution, c.rewardTotal);
    }

    /// @notice Commits again the reward distribution of an epoch the guardian vetoed, with new signatures.
    /// @dev TaskLog's commitment is immutable: the commitment must name the root it holds (TaskLog stores the root
    /// only; the root binds the record set, and with it the count). Reports are not re-applied (Reputation keeps the
    /// first ones).
    /// @param c The signed commitment (same epoch and task root as the TaskLog holds).
    /// @param signatures At least `threshold` 65-byte signatures of `digestOf(c)`, signers ascending.
    function recommitRewards(EpochCommitment calldata c, bytes calldata signatures) external {
        _approve(c, signatures);
        if (taskLog.rootOf(c.epoch) != c.taskRoot) revert EpochQuorumTaskLogMismatch(c.epoch);
        rewardPool.commitEpoch(c.epoch, c.rewardRoot, c.totalContribution, c.rewardTotal);
    }

    /// @notice Applies one more batch of an approved epoch's Reputation reports. Anyone may submit it.
    /// @param epoch The epoch.
    /// @param reports The packed reports of the batch.
    /// @param proof StandardMerkleTree proof of the batch under the epoch's approved reports root.
    function applyReports(uint64 epoch, bytes32[] calldata reports, bytes32[] calldata proof) external {
        _checkBatch(_reportsRoots[epoch], epoch, reports, proof);
        reputation.applyReports(epoch, reports);
    }

    /// @notice Upholds or rejects the open challenge `challengeId` of a RewardPool epoch with the signatures of a
    /// keeper supermajority ({supermajority}). Anyone may submit it.
    /// @dev RewardPool's own checks apply (the epoch is challenged, `challengeId` is its open challenge). An upheld
    /// challenge vetoes the epoch and pays the challenger its bond plus the challenge reward; a rejected one
    /// forfeits the bond to the unreserved balance.
    /// @param epoch The challenged epoch.
    /// @param challengeId The id of its open challenge (RewardPool.challengeOf).
    /// @param upheld True to uphold the challenge, false to reject it.
    /// @param signatures At least {supermajority} 65-byte signatures of `resolutionDigestOf(epoch, challengeId,
    /// upheld)`, signers ascending.
    function resolveChallenge(uint64 epoch, uint64 challengeId, bool upheld, bytes calldata signatures) external {
        bytes32 digest = resolutionDigestOf(epoch, challengeId, upheld);
        uint256 signers = _checkSignatures(digest, signatures, supermajority());
        emit ChallengeResolutionApproved(epoch, challengeId, upheld, digest, signers);
        rewardPool.resolveChallengeByKeepers(epoch, challengeId, upheld);
    }

    // ──────────────────────────────────────────── admin ───────────────────────────────────────────

    /// @notice Adds `keeper` to the keeper set (the threshold is unchanged).
    /// @dev Only DEFAULT_ADMIN_ROLE.
    /// @param keeper The keeper's signing address.
    function addKeeper(address keeper) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _addKeeper(keeper);
    }

    /// @notice Removes `keeper` from the keeper set: its signatures stop counting at once.
    /// @dev Only DEFAULT_ADMIN_ROLE. The threshold must still be reachable (lower it first).
    /// @param keeper The keeper's signing address.
    function removeKeeper(address keeper) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _removeKeeper(keeper);
        Quorum memory q = _quorum;
        if (q.threshold > q.keeperCount) revert EpochQuorumInvalidThreshold(q.threshold, q.keeperCount);
    }

    /// @notice Sets how many keeper signatures an epoch needs.
    /// @dev Only DEFAULT_ADMIN_ROLE. 1..keeperCount; above half of the keepers recommended.
    /// @param threshold_ The number of signatures.
    function setThreshold(uint256 threshold_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setThreshold(threshold_);
    }

    // ──────────────────────────────────────────── views ───────────────────────────────────────────

    /// @notice The EIP-712 digest the keepers sign for `c`.
    /// @param c The commitment.
    /// @return The digest.
    function digestOf(EpochCommitment calldata c) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        EPOCH_COMMITMENT_TYPEHASH,
                        c.epoch,
                        c.taskRoot,
                        c.taskCount,
                        keccak256(bytes(c.taskUri)),
                        c.rewardRoot,
                        c.totalContribution,
                        c.rewardTotal,
                        c.reportsRoot,
                        c.evidenceHash
                    )
                )
            );
    }

    /// @notice The EIP-712 digest the keepers sign to resolve challenge `challengeId` of `epoch`.
    /// @param epoch The challenged epoch.
    /// @param challengeId The challenge's id in RewardPool.
    /// @param upheld True to uphold the challenge, false to reject it.
    /// @return The digest.
    function resolutionDigestOf(uint64 epoch, uint64 challengeId, bool upheld) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CHALLENGE_RESOLUTION_TYPEHASH, epoch, challengeId, upheld)));
    }

    /// @notice The number of signatures a challenge resolution needs: `max(threshold, ⌈2n/3⌉)` of the n registered
    /// keepers: overturning or confirming a challenged epoch takes more keys than a simple majority, and never fewer
    /// than an epoch's commitment needs (docs/security.md, "Challenges").
    /// @return The supermajority.
    function supermajority() public view returns (uint256) {
        Quorum memory q = _quorum;
        uint256 twoThirds = (2 * uint256(q.keeperCount) + 2) / 3;
        return twoThirds > q.threshold ? twoThirds : q.threshold;
    }

    /// @notice The number of signatures an epoch needs.
    /// @return The threshold.
    function threshold() external view returns (uint256) {
        return _quorum.threshold;
    }

    /// @notice The registered keepers (in no particular order).
    /// @return The keepers' signing addresses.
    function keepers() external view returns (address[] memory) {
        return _keepers;
    }

    /// @notice Whether `account` is a registered keeper.
    /// @param account The address.
    /// @return True for a keeper.
    function isKeeper(address account) external view returns (bool) {
        return _positions[account] != 0;
    }

    /// @notice The reports root stored for `epoch` (zero when its reports were applied at commit or it had none).
    /// @param epoch The epoch.
    /// @return The root.
    function reportsRootOf(uint256 epoch) external view returns (bytes32) {
        return _reportsRoots[epoch];
    }

    /// @notice The StandardMerkleTree leaf of a report batch (type `["bytes32"]`, value `keccak256(reports)`).
    /// @param reports The packed reports.
    /// @return The leaf.
    function batchLeafOf(bytes32[] calldata reports) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(keccak256(abi.encodePacked(reports))))));
    }

    // ─────────────────────────────────────────── internal ─────────────────────────────────────────

    /// @dev Reverts unless `signatures` hold at least `threshold` valid signatures of the digest of `c` by
    /// distinct registered keepers in ascending order; emits {EpochApproved}.
    function _approve(EpochCommitment calldata c, bytes calldata signatures) internal {
        bytes32 digest = digestOf(c);
        uint256 signers = _checkSignatures(digest, signatures, _quorum.threshold);
        emit EpochApproved(c.epoch, digest, c.evidenceHash, c.reportsRoot, signers);
    }

    /// @dev Reverts unless `signatures` hold at least `needed` valid signatures of `digest` by distinct registered
    /// keepers in ascending order; returns the signers as a bitmap of keeper positions.
    function _checkSignatures(
        bytes32 digest,
        bytes calldata signatures,
        uint256 needed
    ) internal view returns (uint256 signers) {
        if (signatures.length % SIGNATURE_LENGTH != 0) revert EpochQuorumMalformedSignatures(signatures.length);
        uint256 count = signatures.length / SIGNATURE_LENGTH;
        if (count < needed) revert EpochQuorumNotEnoughSignatures(count, needed);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(
                digest,
                signatures[i * SIGNATURE_LENGTH:(i + 1) * SIGNATURE_LENGTH]
            );
            if (err != ECDSA.RecoverError.NoError) revert EpochQuorumInvalidSignature(i);
            if (signer <= previous) revert EpochQuorumSignersNotAscending(i, signer);
            // A signature over any other digest recovers some unrelated address, refused here.
            uint256 position = _positions[signer];
            if (position == 0) revert EpochQuorumNotKeeper(signer);
            signers |= 1 << (position - 1);
            previous = signer;
        }
    }

    function _checkBatch(
        bytes32 root,
        uint64 epoch,
        bytes32[] calldata reports,
        bytes32[] calldata proof
    ) internal pure {
        if (root == bytes32(0) || !MerkleProof.verifyCalldata(proof, root, batchLeafOf(reports))) {
            revert EpochQuorumInvalidReports(epoch);
        }
    }

    function _addKeeper(address keeper) internal {
        if (keeper == address(0)) revert EpochQuorumZeroAddress();
        if (_positions[keeper] != 0) revert EpochQuorumAlreadyKeeper(keeper);
        if (_keepers.length >= MAX_KEEPERS) revert EpochQuorumTooManyKeepers();
        _keepers.push(keeper);
        _positions[keeper] = _keepers.length;
        _quorum.keeperCount = uint8(_keepers.length);
        emit KeeperAdded(keeper);
    }

    function _removeKeeper(address keeper) internal {
        uint256 position = _positions[keeper];
        if (position == 0) revert EpochQuorumNotKeeper(keeper);
        address last = _keepers[_keepers.length - 1];
        _keepers[position - 1] = last;
        _positions[last] = position;
        _keepers.pop();
        delete _positions[keeper];
        _quorum.keeperCount = uint8(_keepers.length);
        emit KeeperRemoved(keeper);
    }

    function _setThreshold(uint256 threshold_) internal {
        uint256 count = _quorum.keeperCount;
        if (threshold_ == 0 || threshold_ > count) revert EpochQuorumInvalidThreshold(threshold_, count);
        _quorum.threshold = uint8(threshold_);
        emit ThresholdSet(threshold_, count);
    }
}
