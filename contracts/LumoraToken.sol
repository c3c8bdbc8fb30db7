// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title LumoraToken
/// @notice The ERC-20 reward token of the Lumora bandwidth network ("Lumora", "LUM"), with EIP-2612 permits.
/// @dev Fixed supply: the whole initial supply is minted once to the treasury at deployment; there is no
/// mint function afterwards, so the supply policy is fully decided by the deployment parameters.
contract LumoraToken is ERC20, ERC20Permit {
    /// @notice The treasury address is the zero address.
    error LumoraTokenZeroTreasury();

    /// @notice Deploys the token and mints `initialSupply` to `treasury`.
    /// @param treasury Receiver of the whole initial supply.
    /// @param initialSupply Amount minted, in the token's smallest unit (18 decimals).
    constructor(address treasury, uint256 initialSupply) ERC20("Lumora", "LUM") ERC20Permit("Lumora") {
        if (treasury == address(0)) revert LumoraTokenZeroTreasury();
        _mint(treasury, initialSupply);
    }
}
