// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IReputation
/// @notice The read side of the Reputation contract that other Lumora contracts depend on.
interface IReputation {
    /// @notice Whether `node` is currently flagged (penalised: it cannot claim rewards).
    /// @param node The node's on-chain address.
    /// @return True while the node is flagged.
    function isFlagged(address node) external view returns (bool);

    /// @notice The node's score in basis points (0..10_000), with decay toward neutral applied up to the
    /// latest reported epoch.
    /// @param node The node's on-chain address.
    /// @return The current score in basis points.
    function scoreOf(address node) external view returns (uint256);
}
