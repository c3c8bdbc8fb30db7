// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IFlagMirror
/// @notice A contract that keeps its own copy of Reputation's flags (the RewardPool, so that a claim reads the flag
/// from its own storage instead of calling Reputation). Reputation pushes every flag change to it.
interface IFlagMirror {
    /// @notice Records that `node` is now flagged (`flagged` true) or no longer flagged.
    /// @dev Warning: only the Reputation contract the mirror trusts may call it.
    /// @param node The node.
    /// @param flagged Its new flag.
    function setFlagged(address node, bool flagged) external;

    /// @notice Called once by Reputation when it links this mirror, before any report: from then on the mirror holds
    /// every flag.
    function onFlagMirrorLinked() external;
}
