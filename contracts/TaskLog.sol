// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title TaskLog
/// @notice Provable, per-epoch log of every Lumora task and its execution details.
/// @dev One commitment per epoch: the Merkle root of the epoch's task records, the task count and the URI of
/// the full record set. Only the root is stored (one slot per epoch: all that {verifyTask} and a re-commitment's
/// check need); the task count and the URI are emitted by {EpochCommitted}, whose block gives the commit time.
/// Per-task on-chain cost is therefore O(1) per epoch. Epochs are strictly consecutive starting at 1 and a
/// commitment is immutable.
///
/// Record encoding (the OpenZeppelin StandardMerkleTree leaf for the types
/// `["bytes32","address","address","uint64","uint64","uint64","uint8","bytes32","uint16","bytes32"]`):
/// `leaf = keccak256(bytes.concat(keccak256(abi.encode(taskId, consumer, executor, bytesMoved, startedAt,
/// endedAt, status, dataSha256, attempts, evidence))))`. Because every field is static, `abi.encode(record)`
/// of the {TaskRecord} struct is byte-identical to that tuple encoding.
contract TaskLog is AccessControl {
    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice One task and its execution details, as recorded by the keepers.
    /// @param taskId Unique task id (keccak256 of the keeper's task id string).
    /// @param consumer On-chain address of the data consumer that requested the task.
    /// @param executor On-chain address of the node that finally executed it.
    /// @param bytesMoved Verified bytes moved by the task.
    /// @param startedAt Unix time (seconds) the first attempt started.
    /// @param endedAt Unix time (seconds) the task ended.
    /// @param status Final status: 1 = succeeded, 2 = failed, 3 = expired (see docs/PROTOCOL.md).
    /// @param dataSha256 SHA-256 of the data the task moved.
    /// @param attempts Number of attempts (1 + reassignments).
    /// @param evidence keccak256 of the signed receipts backing the record.
    struct TaskRecord {
        bytes32 taskId;
        address consumer;
        address executor;
        uint64 bytesMoved;
        uint64 startedAt;
        uint64 endedAt;
        uint8 status;
        bytes32 dataSha256;
        uint16 attempts;
        bytes32 evidence;
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice Role allowed to commit epochs.
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The latest committed epoch (0 before the first commitment).
    uint64 public lastEpoch;

    // The root is the whole stored commitment: one fresh slot per epoch (docs/gas.md, "Epoch commitments through the
    // keeper quorum"). A second slot for the task count and the time cost ~22,000 gas an epoch and nothing on chain
    // read them; they are in the EpochCommitted event.
    mapping(uint256 epoch => bytes32 root) private _roots;

    // ─────────────────────────────────────────── errors ───────────────────────────────────────────

    /// @notice `epoch` is not the next epoch (`expected`).
    error TaskLogNonConsecutiveEpoch(uint256 epoch, uint256 expected);
    /// @notice The root is zero.
    error TaskLogZeroRoot(uint256 epoch);
    /// @notice The epoch has no tasks.
    error TaskLogEmptyEpoch(uint256 epoch);
    /// @notice The admin address is zero.
    error TaskLogZeroAdmin();

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice An epoch's task records were committed (the event's block gives the commit time).
    /// @param epoch The epoch.
    /// @param root Merkle root of the records (stored: {rootOf}).
    /// @param taskCount Number of records (not stored).
    /// @param uri Where the full record set is published (URI or CID).
    event EpochCommitted(uint256 indexed epoch, bytes32 root, uint256 taskCount, string uri);

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the log with `admin` as the role admin.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants KEEPER_ROLE).
    constructor(address admin) {
        if (admin == address(0)) revert TaskLogZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ─────────────────────────────────────────── external ─────────────────────────────────────────

    /// @notice Commits the task records of the next epoch.
    /// @dev Only KEEPER_ROLE. Epochs are strictly consecutive (1, 2, …) and immutable once committed.
    /// @param epoch The epoch; must equal `lastEpoch + 1`.
    /// @param root Merkle root (StandardMerkleTree) of the epoch's task records.
    /// @param taskCount Number of records under `root`; must be non-zero.
    /// @param uri Where the full record set is published (URI or CID), emitted for indexers.
    function commit(uint64 epoch, bytes32 root, uint64 taskCount, string calldata uri) external onlyRole(KEEPER_ROLE) {
        uint64 expected = lastEpoch + 1;
        if (epoch != expected) revert TaskLogNonConsecutiveEpoch(epoch, expected);
        if (root == bytes32(0)) revert TaskLogZeroRoot(epoch);
        if (taskCount == 0) revert TaskLogEmptyEpoch(epoch);

        lastEpoch = epoch;
        _roots[epoch] = root;
        emit EpochCommitted(epoch, root, taskCount, uri);
    }

    /// @notice The root committed for `epoch` (zero when not committed). The task count and the URI are in the
    /// epoch's {EpochCommitted} event.
    /// @param epoch The epoch.
    /// @return The Merkle root of the epoch's task records.
    function rootOf(uint256 epoch) external view returns (bytes32) {
        return _roots[epoch];
    }

    /// @notice Proves that `record` is one of the task records committed for `epoch`.
    /// @param epoch The epoch.
    /// @param record The task record with its execution details.
    /// @param proof StandardMerkleTree proof of the record's leaf.
    /// @return True when the record is under the epoch's root; false otherwise (also for uncommitted epochs).
    function verifyTask(
        uint256 epoch,
        TaskRecord calldata record,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _roots[epoch];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, leafOf(record));
    }

    /// @notice The StandardMerkleTree leaf of `record` (double keccak of its ABI encoding).
    /// @param record The task record.
    /// @return The leaf hash.
    function leafOf(TaskRecord calldata record) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(record))));
    }
}
