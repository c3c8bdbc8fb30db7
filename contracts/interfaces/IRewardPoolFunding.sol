// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IRewardPoolFunding
/// @notice The part of RewardPool a fee payer uses: {fund} pulls approved tokens into the unreserved balance.
interface IRewardPoolFunding {
    /// @notice Adds `amount` tokens from the caller (who approved the pool) to the unreserved balance.
    /// @param amount Tokens to pull with `transferFrom`.
    function fund(uint256 amount) external;
}
