// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IRewardPoolFunding} from "./interfaces/IRewardPoolFunding.sol";

/// @title CreditVault
/// @notice Paid demand. Consumers deposit LUM credit and pay for data as it arrives by signing cumulative EIP-712
/// vouchers — "`consumer` owes `cumulativeAmount` in total for what `provider` served its peer `consumerPeer`" — the
/// way Mysterium's promises work. Anyone may settle a consumer's highest voucher: the vault checks the signature and
/// takes only the increase over what was already settled for that (consumer, provider) channel, from the consumer's
/// deposit. The fees go to the RewardPool through its {fund} path, less a burned share ({burnBps}).
/// @dev A consumer is never charged beyond what it signed (the settled amount of a channel only grows, up to the
/// highest voucher's cumulative amount) nor beyond its deposit (a settlement the deposit cannot cover takes what
/// there is, and the rest of the same voucher stays settleable after a new deposit). A withdrawal waits
/// {withdrawalDelay} after its request and the deposit stays chargeable meanwhile, so a consumer cannot empty its
/// deposit between receiving data and the settlement of its voucher. The signing domain holds the chain id and
/// this vault's address, so a voucher for another chain or vault is worthless here. Vouchers are ECDSA
/// signatures of externally owned accounts only (an ERC-1271 signature can be revoked by its contract).
/// LUM has no burn function: the burned share goes to {BURN_ADDRESS}, whose key nobody holds.
/// Invariant: `token.balanceOf(vault) >= Σ deposits` (fees leave the vault in the settlement that takes them).
contract CreditVault is AccessControl, EIP712 {
    using SafeERC20 for IERC20;

    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice A consumer's signed promise: `cumulativeAmount` owed in total on the channel to `provider`.
    /// @param consumer The signer, whose deposit pays.
    /// @param provider The provider's reward account: the channel (the keepers credit the bytes it served).
    /// @param consumerPeer keccak256 of the consumer's libp2p peer id (its multihash bytes): the one peer whose
    /// receipts the voucher pays for. The vault does not read it; it binds the voucher to that peer's receipts, so a
    /// published voucher cannot be attached to another peer's receipts.
    /// @param cumulativeAmount Everything owed on the channel since it opened, in token units.
    struct Voucher {
        address consumer;
        address provider;
        bytes32 consumerPeer;
        uint256 cumulativeAmount;
    }

    /// @notice A consumer's deposit and its pending withdrawal (one slot: 96 + 96 + 40 bits).
    /// @param balance What settlements may still take.
    /// @param withdrawing What the consumer asked to withdraw (still chargeable until withdrawn).
    /// @param withdrawableAt When `withdrawing` may be withdrawn (0 when nothing is asked).
    struct Deposit {
        uint96 balance;
        uint96 withdrawing;
        uint40 withdrawableAt;
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice EIP-712 type hash of {Voucher}.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address consumer,address provider,bytes32 consumerPeer,uint256 cumulativeAmount)"
    );
    /// @notice Where the burned share of the fees goes (LUM has no burn function; nobody holds this key).
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    /// @notice Upper bound of the withdrawal delay.
    uint256 public constant MAX_WITHDRAWAL_DELAY = 90 days;
    uint256 private constant _BPS = 10_000;

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The credit token (LUM).
    IERC20 public immutable token;
    /// @notice The RewardPool that receives the settled fees.
    IRewardPoolFunding public immutable rewardPool;

    /// @notice Share of every settled fee that is burned, in basis points; the rest funds the RewardPool.
    uint16 public burnBps;
    /// @notice Seconds between a withdrawal request and the withdrawal.
    uint40 public withdrawalDelay;
    /// @notice Σ fees settled (to the pool and burned).
    uint256 public totalSettled;
    /// @notice Σ fees burned.
    uint256 public totalBurned;

    mapping(address consumer => Deposit deposit) private _deposits;
    mapping(address consumer => mapping(address provider => uint256 amount)) private _settled;

    // ─────────────────────────────────────────── errors ───────────────────────────────────────────

    /// @notice A constructor argument, a consumer or a provider is the zero address.
    error CreditVaultZeroAddress();
    /// @notice The amount is zero or does not fit the vault's 96-bit accounting.
    error CreditVaultInvalidAmount(uint256 amount);
    /// @notice The voucher is not signed by its consumer for this chain and vault.
    error CreditVaultInvalidSignature(address consumer, address provider, uint256 cumulativeAmount);
    /// @notice The voucher asks for `cumulativeAmount`, not more than the `settled` amount of its channel: a
    /// replay, or an older voucher than one already settled.
    error CreditVaultNothingToSettle(address consumer, address provider, uint256 cumulativeAmount, uint256 settled);
    /// @notice `consumer` has no deposit left to pay the voucher.
    error CreditVaultNoCredit(address consumer);
    /// @notice `consumer` asked to withdraw `amount` but holds `balance`.
    error CreditVaultInsufficientBalance(address consumer, uint256 amount, uint256 balance);
    /// @notice `consumer` has no withdrawal pending.
    error CreditVaultNothingToWithdraw(address consumer);
    /// @notice The withdrawal of `consumer` is possible only from `withdrawableAt`.
    error CreditVaultWithdrawalPending(address consumer, uint256 withdrawableAt);
    /// @notice The burned share is above 10,000 basis points.
    error CreditVaultInvalidBurnShare(uint256 burnBps);
    /// @notice The withdrawal delay is above {MAX_WITHDRAWAL_DELAY}.
    error CreditVaultInvalidDelay(uint256 delay);

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice `from` deposited `amount` for `consumer`, whose balance is now `balance`.
    event Deposited(address indexed consumer, address indexed from, uint256 amount, uint256 balance);
    /// @notice `consumer` asked to withdraw `amount` from `withdrawableAt` (replacing any earlier request).
    event WithdrawalRequested(address indexed consumer, uint256 amount, uint256 withdrawableAt);
    /// @notice `consumer` withdrew `amount`.
    event Withdrawn(address indexed consumer, uint256 amount);
    /// @notice The channel `consumer` → `provider` is settled up to `settled` (cumulative): `toPool` went to the
    /// RewardPool and `burned` was burned in this settlement.
    event Settled(
        address indexed consumer,
        address indexed provider,
        address settler,
        uint256 settled,
        uint256 toPool,
        uint256 burned
    );
    /// @notice The burned share changed (applies to later settlements).
    event BurnShareSet(uint256 burnBps);
    /// @notice The withdrawal delay changed (applies to later requests).
    event WithdrawalDelaySet(uint256 withdrawalDelay);

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the vault.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (sets the burned share and the withdrawal delay).
    /// @param token_ The credit token (the RewardPool's reward token).
    /// @param rewardPool_ The pool funded by the settlements.
    /// @param burnBps_ Share of each fee burned, in basis points (≤ 10,000).
    /// @param withdrawalDelay_ Seconds from a withdrawal request to the withdrawal (≤ {MAX_WITHDRAWAL_DELAY}).
    constructor(
        address admin,
        IERC20 token_,
        IRewardPoolFunding rewardPool_,
        uint256 burnBps_,
        uint256 withdrawalDelay_
    ) EIP712("Lumora CreditVault", "1") {
        if (admin == address(0) || address(token_) == address(0) || address(rewardPool_) == address(0)) {
            revert CreditVaultZeroAddress();
        }
        token = token_;
        rewardPool = rewardPool_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setBurnShare(burnBps_);
        _setWithdrawalDelay(withdrawalDelay_);
        // The pool is fixed for the vault's life and pulls exactly what {fund} is told: one approval for all.
        token_.forceApprove(address(rewardPool_), type(uint256).max);
    }

    // ─────────────────────────────────────────── admin ────────────────────────────────────────────

    /// @notice Sets the share of later settlements that is burned.
    /// @param burnBps_ Basis points (≤ 10,000).
    function setBurnShare(uint256 burnBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setBurnShare(burnBps_);
    }

    /// @notice Sets the delay of later withdrawal requests (requests already made keep their date).
    /// @param delay Seconds (≤ {MAX_WITHDRAWAL_DELAY}).
    function setWithdrawalDelay(uint256 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setWithdrawalDelay(delay);
    }

    // ────────────────────────────────────────── consumer ──────────────────────────────────────────

    /// @notice Deposits `amount` of the caller's LUM (approved to the vault) as the caller's credit.
    /// @param amount Tokens to pull with `transferFrom`.
    function deposit(uint256 amount) external {
        _deposit(msg.sender, amount);
    }

    /// @notice Deposits `amount` of the caller's LUM (approved to the vault) as `consumer`'s credit. The credit
    /// belongs to `consumer`: only its vouchers spend it and only it withdraws it.
    /// @param consumer The consumer credited.
    /// @param amount Tokens to pull with `transferFrom`.
    function depositFor(address consumer, uint256 amount) external {
        _deposit(consumer, amount);
    }

    /// @notice Asks to withdraw `amount` of the caller's balance after {withdrawalDelay}; replaces any earlier
    /// request and restarts the delay. The amount stays chargeable by settlements until withdrawn.
    /// @param amount Up to the caller's balance (0 cancels the request).
    function requestWithdrawal(uint256 amount) external {
        Deposit memory d = _deposits[msg.sender];
        if (amount > d.balance) revert CreditVaultInsufficientBalance(msg.sender, amount, d.balance);
        d.withdrawing = uint96(amount);
        d.withdrawableAt = amount == 0 ? 0 : uint40(block.timestamp + withdrawalDelay);
        _deposits[msg.sender] = d;
        emit WithdrawalRequested(msg.sender, amount, d.withdrawableAt);
    }

    /// @notice Withdraws the requested amount once the delay has passed — or what is left of it after the
    /// settlements made meanwhile.
    /// @return amount The amount sent to the caller.
    function withdraw() external returns (uint256 amount) {
        Deposit memory d = _deposits[msg.sender];
        if (d.withdrawing == 0) revert CreditVaultNothingToWithdraw(msg.sender);
        if (block.timestamp < d.withdrawableAt) revert CreditVaultWithdrawalPending(msg.sender, d.withdrawableAt);
        amount = d.withdrawing < d.balance ? d.withdrawing : d.balance;
        d.balance -= uint96(amount);
        d.withdrawing = 0;
        d.withdrawableAt = 0;
        _deposits[msg.sender] = d;
        emit Withdrawn(msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    // ───────────────────────────────────────── settlement ─────────────────────────────────────────

    /// @notice Settles a voucher: checks the consumer's signature and takes the increase of its cumulative amount
    /// over the channel's settled amount — at most the consumer's balance — from the deposit; the fee minus the
    /// burned share funds the RewardPool. Anyone may call it (a keeper, the provider, a watcher).
    /// @param voucher The voucher.
    /// @param signature The consumer's EIP-712 signature of it (65 bytes `r ‖ s ‖ v`; the compact EIP-2098 form is
    /// refused).
    /// @return paid The amount taken from the consumer's deposit.
    function settle(Voucher calldata voucher, bytes calldata signature) external returns (uint256 paid) {
        address consumer = voucher.consumer;
        address provider = voucher.provider;
        if (consumer == address(0) || provider == address(0)) revert CreditVaultZeroAddress();
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hashVoucher(voucher), signature);
        if (err != ECDSA.RecoverError.NoError || signer != consumer) {
            revert CreditVaultInvalidSignature(consumer, provider, voucher.cumulativeAmount);
        }
        uint256 settled = _settled[consumer][provider];
        if (voucher.cumulativeAmount <= settled) {
            revert CreditVaultNothingToSettle(consumer, provider, voucher.cumulativeAmount, settled);
        }
        uint256 balance = _deposits[consumer].balance;
        if (balance == 0) revert CreditVaultNoCredit(consumer);
        paid = voucher.cumulativeAmount - settled;
        if (paid > balance) paid = balance;

        _deposits[consumer].balance = uint96(balance - paid);
        settled += paid;
        _settled[consumer][provider] = settled;
        uint256 burned = (paid * burnBps) / _BPS;
        uint256 toPool = paid - burned;
        totalSettled += paid;
        totalBurned += burned;
        emit Settled(consumer, provider, msg.sender, settled, toPool, burned);
        if (burned > 0) token.safeTransfer(BURN_ADDRESS, burned);
        if (toPool > 0) rewardPool.fund(toPool);
    }

    // ─────────────────────────────────────────── views ────────────────────────────────────────────

    /// @notice The EIP-712 digest a consumer signs for `voucher` (domain: "Lumora CreditVault", "1", this chain,
    /// this vault).
    /// @param voucher The voucher.
    /// @return The digest.
    function hashVoucher(Voucher calldata voucher) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        VOUCHER_TYPEHASH,
                        voucher.consumer,
                        voucher.provider,
                        voucher.consumerPeer,
                        voucher.cumulativeAmount
                    )
                )
            );
    }

    /// @notice What the channel `consumer` → `provider` has paid so far (cumulative).
    /// @param consumer The consumer.
    /// @param provider The provider's reward account.
    /// @return The settled amount.
    function settledOf(address consumer, address provider) external view returns (uint256) {
        return _settled[consumer][provider];
    }

    /// @notice The deposit of `consumer`.
    /// @param consumer The consumer.
    /// @return The consumer's balance, pending withdrawal and its date.
    function depositOf(address consumer) external view returns (Deposit memory) {
        return _deposits[consumer];
    }

    // ────────────────────────────────────────── internal ──────────────────────────────────────────

    function _deposit(address consumer, uint256 amount) internal {
        if (consumer == address(0)) revert CreditVaultZeroAddress();
        uint256 balance = _deposits[consumer].balance + amount;
        if (amount == 0 || balance > type(uint96).max) revert CreditVaultInvalidAmount(amount);
        _deposits[consumer].balance = uint96(balance);
        emit Deposited(consumer, msg.sender, amount, balance);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _setBurnShare(uint256 burnBps_) internal {
        if (burnBps_ > _BPS) revert CreditVaultInvalidBurnShare(burnBps_);
        burnBps = uint16(burnBps_);
        emit BurnShareSet(burnBps_);
    }

    function _setWithdrawalDelay(uint256 delay) internal {
        if (delay > MAX_WITHDRAWAL_DELAY) revert CreditVaultInvalidDelay(delay);
        withdrawalDelay = uint40(delay);
        emit WithdrawalDelaySet(delay);
    }
}
