// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title BaselineMerkleDistributor
/// @notice Benchmark baseline only (never deployed): the minimal Uniswap-style distributor — one immutable root,
/// a claimed bitmap and a transfer of the leaf's amount. No epochs, no on-chain formula, no reputation check,
/// no reserve accounting. `bench:gas` measures it on the same tree as RewardPool to price our extra guarantees.
contract BaselineMerkleDistributor {
    IERC20 public immutable token;
    bytes32 public immutable root;
    uint64 public immutable epoch;
    mapping(uint256 word => uint256 bits) private _claimed;

    error BaselineAlreadyClaimed(uint256 index);
    error BaselineInvalidProof(uint256 index);
    error BaselineTransferFailed();

    event Claimed(uint256 index, address account, uint256 amount);

    /// @param token_ The token paid out.
    /// @param root_ Root over `(epoch, index, account, amount)` StandardMerkleTree leaves.
    /// @param epoch_ The epoch baked into the leaves.
    constructor(IERC20 token_, bytes32 root_, uint64 epoch_) {
        token = token_;
        root = root_;
        epoch = epoch_;
    }

    /// @notice Pays `amount` to `account` for leaf `index`.
    /// @param index Leaf index.
    /// @param account Receiver.
    /// @param amount Amount in the leaf.
    /// @param proof Proof of the leaf.
    function claim(uint256 index, address account, uint256 amount, bytes32[] calldata proof) external {
        uint256 word = index >> 8;
        uint256 bit = 1 << (index & 0xff);
        uint256 bits = _claimed[word];
        if (bits & bit != 0) revert BaselineAlreadyClaimed(index);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(epoch, index, account, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert BaselineInvalidProof(index);
        _claimed[word] = bits | bit;
        emit Claimed(index, account, amount);
        if (!token.transfer(account, amount)) revert BaselineTransferFailed();
    }
}
