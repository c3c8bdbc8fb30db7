// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title NodeRegistry
/// @notice Holds the LUM bonds of reward accounts. A node is routed to, credited and reported to Reputation only
/// while its reward account is bonded ({isBonded}: an active bond of at least {minBond}), and the keepers cap an
/// account's reward share by its bond (stake saturation, docs/security.md), so every identity costs capital.
/// @dev Anyone may bond for an account ({bondFor}); the bond belongs to the account from then on: only the account
/// can request to unbond and withdraw, and the tokens always go back to the account. A request to unbond moves the
/// amount out of the active bond at once (it no longer counts) and makes it withdrawable after {unbondingDelay};
/// a second request adds to the amount in unbonding and restarts the delay for all of it, so capital that backed a
/// share of an epoch stays locked for at least the delay after it stopped counting.
/// Invariant: `token.balanceOf(registry) >= totalBonded() + Σ unbonding` (tokens sent by plain transfer stay
/// locked; there is no sweep, so the registry never holds an admin-movable balance).
contract NodeRegistry is AccessControl {
    using SafeERC20 for IERC20;

    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice An account's bond (one slot: 96 + 96 + 40 bits).
    /// @param active What counts: the bonded amount not in unbonding.
    /// @param unbonding What was asked back and waits for the delay; counts for nothing.
    /// @param withdrawableAt When `unbonding` may be withdrawn (0 when nothing is in unbonding).
    struct Bond {
        uint96 active;
        uint96 unbonding;
        uint40 withdrawableAt;
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice Upper bound of the unbonding delay: long enough for any epoch length, short enough that a bond is
    /// never trapped by a mistaken parameter.
    uint256 public constant MAX_UNBONDING_DELAY = 365 days;

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The bonded token (LUM).
    IERC20 public immutable token;

    /// @notice Smallest active bond for which an account counts as bonded.
    uint96 public minBond;
    /// @notice Seconds between a request to unbond and the withdrawal.
    uint40 public unbondingDelay;
    /// @notice Σ active bonds.
    uint256 public totalBonded;

    mapping(address account => Bond bond) private _bonds;

    // ─────────────────────────────────────────── errors ───────────────────────────────────────────

    /// @notice A constructor argument is the zero address, or a bond names the zero address as its account.
    error NodeRegistryZeroAddress();
    /// @notice The amount is zero or does not fit the registry's 96-bit accounting.
    error NodeRegistryInvalidAmount(uint256 amount);
    /// @notice The bond would leave `account` with `active`, below the minimum bond `minBond`.
    error NodeRegistryBelowMinimum(address account, uint256 active, uint256 minBond);
    /// @notice `account` asked to unbond `amount` but has only `active` bonded.
    error NodeRegistryInsufficientBond(address account, uint256 amount, uint256 active);
    /// @notice `account` has nothing in unbonding.
    error NodeRegistryNothingToWithdraw(address account);
    /// @notice The unbonding of `account` is withdrawable only from `withdrawableAt`.
    error NodeRegistryStillUnbonding(address account, uint256 withdrawableAt);
    /// @notice The unbonding delay is above {MAX_UNBONDING_DELAY}.
    error NodeRegistryInvalidDelay(uint256 delay);

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice `from` bonded `amount` for `account`, whose active bond is now `active`.
    event Bonded(address indexed account, address indexed from, uint256 amount, uint256 active);
    /// @notice `account` asked to unbond `amount`; `unbonding` in total is withdrawable from `withdrawableAt`.
    event UnbondRequested(
        address indexed account,
        uint256 amount,
        uint256 active,
        uint256 unbonding,
        uint256 withdrawableAt
    );
    /// @notice `account` withdrew `amount` after its unbonding delay.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The minimum bond changed (applies at once to {isBonded}).
    event MinBondSet(uint256 minBond);
    /// @notice The unbonding delay changed (applies to later requests).
    event UnbondingDelaySet(uint256 unbondingDelay);

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the registry.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (sets the minimum bond and the unbonding delay).
    /// @param token_ The bonded token.
    /// @param minBond_ Smallest active bond that counts (a bond of 0 would make registration free).
    /// @param unbondingDelay_ Seconds from a request to unbond to the withdrawal (≤ {MAX_UNBONDING_DELAY}).
    constructor(address admin, IERC20 token_, uint256 minBond_, uint256 unbondingDelay_) {
        if (admin == address(0) || address(token_) == address(0)) revert NodeRegistryZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setMinBond(minBond_);
        _setUnbondingDelay(unbondingDelay_);
    }

    // ─────────────────────────────────────────── admin ────────────────────────────────────────────

    /// @notice Sets the minimum bond. Raising it unbonds nobody's tokens, but accounts below it stop counting.
    /// @param minBond_ Smallest active bond that counts (non-zero, < 2^96).
    function setMinBond(uint256 minBond_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinBond(minBond_);
    }

    /// @notice Sets the unbonding delay of later requests (requests already made keep their date).
    /// @param delay Seconds (≤ {MAX_UNBONDING_DELAY}).
    function setUnbondingDelay(uint256 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnbondingDelay(delay);
    }

    // ────────────────────────────────────────── bonding ───────────────────────────────────────────

    /// @notice Bonds `amount` LUM of the caller (who approved the registry) for the caller's own account.
    /// @param amount Tokens to pull with `transferFrom`; the resulting active bond must reach {minBond}.
    function bond(uint256 amount) external {
        _bond(msg.sender, amount);
    }

    /// @notice Bonds `amount` LUM of the caller (who approved the registry) for `account`. The bond belongs to
    /// `account`: only it can unbond, and withdrawals go to it.
    /// @param account The reward account bonded for.
    /// @param amount Tokens to pull with `transferFrom`; the resulting active bond must reach {minBond}.
    function bondFor(address account, uint256 amount) external {
        _bond(account, amount);
    }

    /// @notice Moves `amount` of the caller's active bond to unbonding: it stops counting at once and becomes
    /// withdrawable {unbondingDelay} seconds from now, together with anything already in unbonding.
    /// @param amount Part of the active bond (non-zero); what stays active may fall below {minBond}.
    function requestUnbond(uint256 amount) external {
        Bond memory b = _bonds[msg.sender];
        if (amount == 0) revert NodeRegistryInvalidAmount(amount);
        if (amount > b.active) revert NodeRegistryInsufficientBond(msg.sender, amount, b.active);
        b.active -= uint96(amount);
        b.unbonding += uint96(amount);
        b.withdrawableAt = uint40(block.timestamp + unbondingDelay);
        _bonds[msg.sender] = b;
        totalBonded -= amount;
        emit UnbondRequested(msg.sender, amount, b.active, b.unbonding, b.withdrawableAt);
    }

    /// @notice Sends the caller's whole unbonding amount back to it once the delay has passed.
    /// @return amount The amount withdrawn.
    function withdraw() external returns (uint256 amount) {
        Bond memory b = _bonds[msg.sender];
        amount = b.unbonding;
        if (amount == 0) revert NodeRegistryNothingToWithdraw(msg.sender);
        if (block.timestamp < b.withdrawableAt) revert NodeRegistryStillUnbonding(msg.sender, b.withdrawableAt);
        b.unbonding = 0;
        b.withdrawableAt = 0;
        _bonds[msg.sender] = b;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ─────────────────────────────────────────── views ────────────────────────────────────────────

    /// @notice The active bond of `account` (what counts; unbonding excluded).
    /// @param account The reward account.
    /// @return The active bond.
    function bondOf(address account) external view returns (uint256) {
        return _bonds[account].active;
    }

    /// @notice Whether `account` is bonded: its active bond is at least {minBond}.
    /// @param account The reward account.
    /// @return True when the account counts.
    function isBonded(address account) external view returns (bool) {
        return _bonds[account].active >= minBond;
    }

    /// @notice The amount of `account` in unbonding and when it becomes withdrawable.
    /// @param account The reward account.
    /// @return amount In unbonding.
    /// @return withdrawableAt When it may be withdrawn (0 when nothing is in unbonding).
    function unbondingOf(address account) external view returns (uint256 amount, uint256 withdrawableAt) {
        Bond memory b = _bonds[account];
        return (b.unbonding, b.withdrawableAt);
    }

    /// @notice The active bonds of several accounts, in order (the keepers' cached chain view reads them at once).
    /// @param accounts The reward accounts.
    /// @return bonds Their active bonds.
    function bondsOf(address[] calldata accounts) external view returns (uint256[] memory bonds) {
        bonds = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) bonds[i] = _bonds[accounts[i]].active;
    }

    // ────────────────────────────────────────── internal ──────────────────────────────────────────

    function _bond(address account, uint256 amount) internal {
        if (account == address(0)) revert NodeRegistryZeroAddress();
        if (amount == 0 || amount + totalBonded > type(uint96).max) revert NodeRegistryInvalidAmount(amount);
        Bond storage b = _bonds[account];
        uint256 active = b.active + amount;
        if (active < minBond) revert NodeRegistryBelowMinimum(account, active, minBond);
        b.active = uint96(active);
        totalBonded += amount;
        emit Bonded(account, msg.sender, amount, active);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _setMinBond(uint256 minBond_) internal {
        if (minBond_ == 0 || minBond_ > type(uint96).max) revert NodeRegistryInvalidAmount(minBond_);
        minBond = uint96(minBond_);
        emit MinBondSet(minBond_);
    }

    function _setUnbondingDelay(uint256 delay) internal {
        if (delay > MAX_UNBONDING_DELAY) revert NodeRegistryInvalidDelay(delay);
        unbondingDelay = uint40(delay);
        emit UnbondingDelaySet(delay);
    }
}
