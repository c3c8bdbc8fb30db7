// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title NaiveTaskLog
/// @notice Benchmark baseline only (never deployed): logs every task record in storage, one transaction per
/// task — what TaskLog's per-epoch Merkle commitment replaces.
contract NaiveTaskLog {
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

    mapping(bytes32 taskId => TaskRecord record) public records;

    event TaskLogged(bytes32 indexed taskId);

    /// @notice Stores one task record.
    /// @param record The record.
    function log(TaskRecord calldata record) external {
        records[record.taskId] = record;
        emit TaskLogged(record.taskId);
    }
}
