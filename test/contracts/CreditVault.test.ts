import { expect } from "chai";
import { Signature, TypedDataEncoder, Wallet, ZeroAddress, parseEther, type TypedDataDomain } from "ethers";
import { network } from "hardhat";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import { settleEpochVouchers, vouchersOfEvidence } from "../../claims/settle.ts";
import {
  VOUCHER_TYPES as VOUCHER_TYPES_READONLY,
  peerHash,
  settleVouchers,
  signVoucher,
  toWire,
  verifyVoucher,
  voucherDigest,
} from "../../keeper/payment/index.ts";
import { createLogger } from "../../keeper/logger.ts";
import { ConsumerDebts, CreditCache, PaymentStore, SessionLedger, vaultCredit } from "../../keeper/payment/index.ts";
import { openStore } from "../../keeper/store/index.ts";
import { signReceipt } from "../../keeper/transfer/receipt.ts";
import type { CreditVault, LumoraToken, RewardPool } from "../../types/ethers-contracts/index.js";
import { REPUTATION_PARAMETERS } from "./helpers/reputation-parameters.ts";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const DAY = 86_400n;
const BURN_BPS = 2_000n;
const WITHDRAWAL_DELAY = 2n * DAY;
const MAX_WITHDRAWAL_DELAY = 90n * DAY;
const DEPOSIT = parseEther("100");
const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";
const UINT96_MAX = 2n ** 96n - 1n;

// One definition of the voucher type: the keeper's (keeper/payment/voucher.ts), checked here against the vault.
const VOUCHER_TYPES = VOUCHER_TYPES_READONLY as unknown as Record<string, Array<{ name: string; type: string }>>;

interface Voucher {
  consumer: string;
  provider: string;
  consumerPeer: string;
  cumulativeAmount: bigint;
}

/** The consumer's peer the fixture's vouchers are signed for (the vault carries it in the digest only). */
const CONSUMER_PEER = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
const CONSUMER_PEER_HASH = peerHash(CONSUMER_PEER);

async function deployFixture() {
  const [admin, consumer, provider, settler, funder, outsider] = await ethers.getSigners();
  const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, parseEther("1000000")]);
  const reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
  const pool: RewardPool = await ethers.deployContract("RewardPool", [
    admin.address,
    await token.getAddress(),
    await reputation.getAddress(),
    3600n,
    DAY,
  ]);
  const vault: CreditVault = await ethers.deployContract("CreditVault", [
    admin.address,
    await token.getAddress(),
    await pool.getAddress(),
    BURN_BPS,
    WITHDRAWAL_DELAY,
  ]);
  const vaultAddress = await vault.getAddress();
  const poolAddress = await pool.getAddress();
  for (const s of [consumer, funder]) {
    await token.transfer(s.address, parseEther("10000"));
    await token.connect(s).approve(vaultAddress, parseEther("10000"));
  }
  const { chainId } = await ethers.provider.getNetwork();
  const domain: TypedDataDomain = {
    name: "Lumora CreditVault",
    version: "1",
    chainId,
    verifyingContract: vaultAddress,
  };
  const voucher = (cumulativeAmount: bigint, to = provider.address): Voucher => ({
    consumer: consumer.address,
    provider: to,
    consumerPeer: CONSUMER_PEER_HASH,
    cumulativeAmount,
  });
  const sign = (v: Voucher, signer: { signTypedData: Wallet["signTypedData"] } = consumer, d = domain) =>
    signer.signTypedData(d, VOUCHER_TYPES, v);
  return {
    token,
    pool,
    vault,
    vaultAddress,
    poolAddress,
    admin,
    consumer,
    provider,
    settler,
    funder,
    outsider,
    domain,
    voucher,
    sign,
  };
}

/** The consumer deposited {@link DEPOSIT}. */
async function fundedFixture() {
  const f = await deployFixture();
  await f.vault.connect(f.consumer).deposit(DEPOSIT);
  return f;
}

const split = (amount: bigint) => {
  const burned = (amount * BURN_BPS) / 10_000n;
  return { burned, toPool: amount - burned };
};

describe("CreditVault", function () {
  describe("constructor", function () {
    it("stores the token, pool and parameters, grants the admin role and approves the pool", async function () {
      const { vault, token, pool, admin, vaultAddress, poolAddress } = await networkHelpers.loadFixture(deployFixture);
      expect(await vault.token()).to.equal(await token.getAddress());
      expect(await vault.rewardPool()).to.equal(await pool.getAddress());
      expect(await vault.burnBps()).to.equal(BURN_BPS);
      expect(await vault.withdrawalDelay()).to.equal(WITHDRAWAL_DELAY);
      expect(await vault.hasRole(await vault.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await token.allowance(vaultAddress, poolAddress)).to.equal(2n ** 256n - 1n);
      const deployment = vault.deploymentTransaction()!;
      await expect(deployment).to.emit(vault, "BurnShareSet").withArgs(BURN_BPS);
      await expect(deployment).to.emit(vault, "WithdrawalDelaySet").withArgs(WITHDRAWAL_DELAY);
    });

    it("reverts on a zero admin, token or pool, a burned share above 100 % and a delay above the maximum", async function () {
      const { token, pool, admin } = await networkHelpers.loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("CreditVault");
      const t = await token.getAddress();
      const p = await pool.getAddress();
      for (const args of [
        [ZeroAddress, t, p],
        [admin.address, ZeroAddress, p],
        [admin.address, t, ZeroAddress],
      ] as const) {
        await expect(factory.deploy(...args, BURN_BPS, WITHDRAWAL_DELAY)).to.be.revertedWithCustomError(
          factory,
          "CreditVaultZeroAddress",
        );
      }
      await expect(factory.deploy(admin.address, t, p, 10_001n, WITHDRAWAL_DELAY))
        .to.be.revertedWithCustomError(factory, "CreditVaultInvalidBurnShare")
        .withArgs(10_001n);
      await expect(factory.deploy(admin.address, t, p, BURN_BPS, MAX_WITHDRAWAL_DELAY + 1n))
        .to.be.revertedWithCustomError(factory, "CreditVaultInvalidDelay")
        .withArgs(MAX_WITHDRAWAL_DELAY + 1n);
    });
  });

  describe("deposit and depositFor", function () {
    it("credits the caller, pulls the tokens and emits Deposited", async function () {
      const { vault, token, consumer, vaultAddress } = await networkHelpers.loadFixture(deployFixture);
      const tx = vault.connect(consumer).deposit(DEPOSIT);
      await expect(tx).to.emit(vault, "Deposited").withArgs(consumer.address, consumer.address, DEPOSIT, DEPOSIT);
      await expect(tx).to.changeTokenBalances(ethers, token, [consumer, vaultAddress], [-DEPOSIT, DEPOSIT]);
      expect((await vault.depositOf(consumer.address)).balance).to.equal(DEPOSIT);
    });

    it("depositFor credits another consumer, whose vouchers alone spend it", async function () {
      const { vault, funder, outsider } = await networkHelpers.loadFixture(deployFixture);
      await expect(vault.connect(funder).depositFor(outsider.address, DEPOSIT))
        .to.emit(vault, "Deposited")
        .withArgs(outsider.address, funder.address, DEPOSIT, DEPOSIT);
      expect((await vault.depositOf(outsider.address)).balance).to.equal(DEPOSIT);
      expect((await vault.depositOf(funder.address)).balance).to.equal(0n);
    });

    it("reverts on zero, past the 96-bit accounting and for the zero consumer", async function () {
      const { vault, consumer, funder } = await networkHelpers.loadFixture(deployFixture);
      await expect(vault.connect(consumer).deposit(0n))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidAmount")
        .withArgs(0n);
      await expect(vault.connect(consumer).deposit(UINT96_MAX + 1n))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidAmount")
        .withArgs(UINT96_MAX + 1n);
      await expect(vault.connect(funder).depositFor(ZeroAddress, DEPOSIT)).to.be.revertedWithCustomError(
        vault,
        "CreditVaultZeroAddress",
      );
    });
  });

  describe("settle", function () {
    it("pays the voucher from the deposit: the pool is funded, the burned share burned, events emitted", async function () {
      const { vault, token, pool, poolAddress, vaultAddress, consumer, provider, settler, voucher, sign } =
        await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(parseEther("10"));
      const { burned, toPool } = split(parseEther("10"));
      const tx = vault.connect(settler).settle(v, await sign(v));
      await expect(tx)
        .to.emit(vault, "Settled")
        .withArgs(consumer.address, provider.address, settler.address, parseEther("10"), toPool, burned);
      await expect(tx).to.emit(pool, "Funded").withArgs(vaultAddress, toPool);
      await expect(tx).to.changeTokenBalances(
        ethers,
        token,
        [vaultAddress, poolAddress, BURN_ADDRESS],
        [-parseEther("10"), toPool, burned],
      );
      expect(await pool.unreservedBalance()).to.equal(toPool);
      expect(await vault.settledOf(consumer.address, provider.address)).to.equal(parseEther("10"));
      expect((await vault.depositOf(consumer.address)).balance).to.equal(DEPOSIT - parseEther("10"));
      expect(await vault.totalSettled()).to.equal(parseEther("10"));
      expect(await vault.totalBurned()).to.equal(burned);
    });

    it("takes only the increase of a higher voucher over what was settled", async function () {
      const { vault, consumer, provider, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const first = voucher(parseEther("10"));
      await vault.connect(settler).settle(first, await sign(first));
      const second = voucher(parseEther("25"));
      const { burned, toPool } = split(parseEther("15"));
      await expect(vault.connect(settler).settle(second, await sign(second)))
        .to.emit(vault, "Settled")
        .withArgs(consumer.address, provider.address, settler.address, parseEther("25"), toPool, burned);
      expect((await vault.depositOf(consumer.address)).balance).to.equal(DEPOSIT - parseEther("25"));
    });

    it("rejects a replayed voucher: nothing is charged twice", async function () {
      const { vault, consumer, provider, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(parseEther("10"));
      const signature = await sign(v);
      await vault.connect(settler).settle(v, signature);
      await expect(vault.connect(settler).settle(v, signature))
        .to.be.revertedWithCustomError(vault, "CreditVaultNothingToSettle")
        .withArgs(consumer.address, provider.address, parseEther("10"), parseEther("10"));
      expect((await vault.depositOf(consumer.address)).balance).to.equal(DEPOSIT - parseEther("10"));
    });

    it("rejects a lower voucher after a higher one", async function () {
      const { vault, consumer, provider, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const low = voucher(parseEther("5"));
      const lowSignature = await sign(low);
      const high = voucher(parseEther("20"));
      await vault.connect(settler).settle(high, await sign(high));
      await expect(vault.connect(settler).settle(low, lowSignature))
        .to.be.revertedWithCustomError(vault, "CreditVaultNothingToSettle")
        .withArgs(consumer.address, provider.address, parseEther("5"), parseEther("20"));
    });

    it("rejects an over-charge: a voucher whose amount was raised after signing", async function () {
      const { vault, consumer, provider, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const signed = voucher(parseEther("10"));
      const signature = await sign(signed);
      const raised = voucher(parseEther("50"));
      await expect(vault.connect(settler).settle(raised, signature))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidSignature")
        .withArgs(consumer.address, provider.address, parseEther("50"));
      expect((await vault.depositOf(consumer.address)).balance).to.equal(DEPOSIT);
    });

    it("rejects a voucher moved to another provider's channel", async function () {
      const { vault, settler, outsider, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const signature = await sign(voucher(parseEther("10")));
      await expect(
        vault.connect(settler).settle(voucher(parseEther("10"), outsider.address), signature),
      ).to.be.revertedWithCustomError(vault, "CreditVaultInvalidSignature");
    });

    it("rejects a voucher moved to another consumer peer: the signature binds the peer it pays for", async function () {
      const { vault, settler, provider, consumer, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(parseEther("10"));
      const signature = await sign(v);
      await expect(vault.connect(settler).settle({ ...v, consumerPeer: ethers.id("another peer") }, signature))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidSignature")
        .withArgs(consumer.address, provider.address, parseEther("10"));
    });

    it("rejects a voucher signed by anyone but its consumer", async function () {
      const { vault, settler, provider, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(parseEther("10"));
      await expect(vault.connect(settler).settle(v, await sign(v, provider))).to.be.revertedWithCustomError(
        vault,
        "CreditVaultInvalidSignature",
      );
    });

    it("rejects a voucher signed for another chain or another vault", async function () {
      const { vault, settler, domain, voucher, sign, consumer, outsider } =
        await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(parseEther("10"));
      for (const other of [
        { ...domain, chainId: 1n },
        { ...domain, verifyingContract: outsider.address },
      ]) {
        await expect(vault.connect(settler).settle(v, await sign(v, consumer, other))).to.be.revertedWithCustomError(
          vault,
          "CreditVaultInvalidSignature",
        );
      }
    });

    it("rejects a malformed signature", async function () {
      const { vault, settler, consumer, provider, voucher } = await networkHelpers.loadFixture(fundedFixture);
      await expect(vault.connect(settler).settle(voucher(parseEther("10")), "0x1234"))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidSignature")
        .withArgs(consumer.address, provider.address, parseEther("10"));
    });

    it("refuses the 64-byte compact (EIP-2098) form: 65-byte signatures only", async function () {
      const { vault, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(parseEther("10"));
      const compact = Signature.from(await sign(v)).compactSerialized;
      await expect(vault.connect(settler).settle(v, compact)).to.be.revertedWithCustomError(
        vault,
        "CreditVaultInvalidSignature",
      );
    });

    it("never charges beyond the deposit: takes what there is and settles the rest after a new deposit", async function () {
      const { vault, token, consumer, provider, settler, voucher, sign } =
        await networkHelpers.loadFixture(fundedFixture);
      const v = voucher(DEPOSIT + parseEther("30"));
      const signature = await sign(v);
      const first = split(DEPOSIT);
      await expect(vault.connect(settler).settle(v, signature))
        .to.emit(vault, "Settled")
        .withArgs(consumer.address, provider.address, settler.address, DEPOSIT, first.toPool, first.burned);
      expect((await vault.depositOf(consumer.address)).balance).to.equal(0n);
      await expect(vault.connect(settler).settle(v, signature))
        .to.be.revertedWithCustomError(vault, "CreditVaultNoCredit")
        .withArgs(consumer.address);
      await vault.connect(consumer).deposit(parseEther("50"));
      await expect(vault.connect(settler).settle(v, signature)).to.changeTokenBalance(
        ethers,
        token,
        await vault.getAddress(),
        -parseEther("30"),
      );
      expect(await vault.settledOf(consumer.address, provider.address)).to.equal(v.cumulativeAmount);
      expect((await vault.depositOf(consumer.address)).balance).to.equal(parseEther("20"));
    });

    it("keeps channels apart: each provider's vouchers settle against their own cumulative amount", async function () {
      const { vault, consumer, provider, outsider, settler, voucher, sign } =
        await networkHelpers.loadFixture(fundedFixture);
      const a = voucher(parseEther("10"));
      const b = voucher(parseEther("4"), outsider.address);
      await vault.connect(settler).settle(a, await sign(a));
      await vault.connect(settler).settle(b, await sign(b));
      expect(await vault.settledOf(consumer.address, provider.address)).to.equal(parseEther("10"));
      expect(await vault.settledOf(consumer.address, outsider.address)).to.equal(parseEther("4"));
      expect((await vault.depositOf(consumer.address)).balance).to.equal(DEPOSIT - parseEther("14"));
    });

    it("rejects the zero consumer or provider", async function () {
      const { vault, settler, consumer, provider } = await networkHelpers.loadFixture(fundedFixture);
      const signature = "0x" + "00".repeat(65);
      await expect(
        vault.connect(settler).settle(
          {
            consumer: ZeroAddress,
            provider: provider.address,
            consumerPeer: CONSUMER_PEER_HASH,
            cumulativeAmount: 1n,
          },
          signature,
        ),
      ).to.be.revertedWithCustomError(vault, "CreditVaultZeroAddress");
      await expect(
        vault.connect(settler).settle(
          {
            consumer: consumer.address,
            provider: ZeroAddress,
            consumerPeer: CONSUMER_PEER_HASH,
            cumulativeAmount: 1n,
          },
          signature,
        ),
      ).to.be.revertedWithCustomError(vault, "CreditVaultZeroAddress");
    });

    it("sends everything to the pool when nothing is burned, and everything to the burn address at 100 %", async function () {
      const { vault, admin, pool, token, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      await vault.connect(admin).setBurnShare(0n);
      const v1 = voucher(parseEther("10"));
      await expect(vault.connect(settler).settle(v1, await sign(v1))).to.changeTokenBalance(
        ethers,
        token,
        BURN_ADDRESS,
        0n,
      );
      expect(await pool.unreservedBalance()).to.equal(parseEther("10"));
      await vault.connect(admin).setBurnShare(10_000n);
      const v2 = voucher(parseEther("15"));
      const tx = vault.connect(settler).settle(v2, await sign(v2));
      await expect(tx).to.not.emit(pool, "Funded");
      await expect(tx).to.changeTokenBalance(ethers, token, BURN_ADDRESS, parseEther("5"));
    });

    it("matches the signing digest with hashVoucher (the keeper signs what the contract checks)", async function () {
      const { vault, domain, voucher } = await networkHelpers.loadFixture(deployFixture);
      const v = voucher(123n);
      expect(await vault.hashVoucher(v)).to.equal(TypedDataEncoder.hash(domain, VOUCHER_TYPES, v));
    });
  });

  describe("withdrawal", function () {
    it("waits for the delay, then pays the consumer and emits both events", async function () {
      const { vault, token, consumer } = await networkHelpers.loadFixture(fundedFixture);
      const request = vault.connect(consumer).requestWithdrawal(parseEther("60"));
      const at = BigInt((await time.latest()) + 1) + WITHDRAWAL_DELAY;
      await expect(request).to.emit(vault, "WithdrawalRequested").withArgs(consumer.address, parseEther("60"), at);
      await time.setNextBlockTimestamp(at - 1n);
      await expect(vault.connect(consumer).withdraw())
        .to.be.revertedWithCustomError(vault, "CreditVaultWithdrawalPending")
        .withArgs(consumer.address, at);
      await time.setNextBlockTimestamp(at);
      const tx = vault.connect(consumer).withdraw();
      await expect(tx).to.emit(vault, "Withdrawn").withArgs(consumer.address, parseEther("60"));
      await expect(tx).to.changeTokenBalance(ethers, token, consumer, parseEther("60"));
      const d = await vault.depositOf(consumer.address);
      expect([d.balance, d.withdrawing, d.withdrawableAt]).to.deep.equal([parseEther("40"), 0n, 0n]);
    });

    it("cannot front-run a settlement: the requested amount stays chargeable during the delay", async function () {
      const { vault, token, consumer, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      await vault.connect(consumer).requestWithdrawal(DEPOSIT);
      const v = voucher(parseEther("70"));
      await vault.connect(settler).settle(v, await sign(v));
      await time.increase(WITHDRAWAL_DELAY);
      const tx = vault.connect(consumer).withdraw();
      await expect(tx).to.emit(vault, "Withdrawn").withArgs(consumer.address, parseEther("30"));
      await expect(tx).to.changeTokenBalance(ethers, token, consumer, parseEther("30"));
    });

    it("restarts the delay on a new request and cancels with 0", async function () {
      const { vault, consumer } = await networkHelpers.loadFixture(fundedFixture);
      await vault.connect(consumer).requestWithdrawal(parseEther("10"));
      await time.increase(DAY);
      await vault.connect(consumer).requestWithdrawal(parseEther("20"));
      const d = await vault.depositOf(consumer.address);
      expect(d.withdrawing).to.equal(parseEther("20"));
      expect(d.withdrawableAt).to.equal(BigInt(await time.latest()) + WITHDRAWAL_DELAY);
      await expect(vault.connect(consumer).requestWithdrawal(0n))
        .to.emit(vault, "WithdrawalRequested")
        .withArgs(consumer.address, 0n, 0n);
      await expect(vault.connect(consumer).withdraw())
        .to.be.revertedWithCustomError(vault, "CreditVaultNothingToWithdraw")
        .withArgs(consumer.address);
    });

    it("reverts on a request above the balance and on a withdrawal never requested", async function () {
      const { vault, consumer, outsider } = await networkHelpers.loadFixture(fundedFixture);
      await expect(vault.connect(consumer).requestWithdrawal(DEPOSIT + 1n))
        .to.be.revertedWithCustomError(vault, "CreditVaultInsufficientBalance")
        .withArgs(consumer.address, DEPOSIT + 1n, DEPOSIT);
      await expect(vault.connect(outsider).withdraw())
        .to.be.revertedWithCustomError(vault, "CreditVaultNothingToWithdraw")
        .withArgs(outsider.address);
    });

    it("pays nothing when settlements took the whole deposit during the delay", async function () {
      const { vault, token, consumer, settler, voucher, sign } = await networkHelpers.loadFixture(fundedFixture);
      await vault.connect(consumer).requestWithdrawal(DEPOSIT);
      const v = voucher(DEPOSIT);
      await vault.connect(settler).settle(v, await sign(v));
      await time.increase(WITHDRAWAL_DELAY);
      const tx = vault.connect(consumer).withdraw();
      await expect(tx).to.emit(vault, "Withdrawn").withArgs(consumer.address, 0n);
      await expect(tx).to.changeTokenBalance(ethers, token, consumer, 0n);
    });
  });

  describe("admin parameters", function () {
    it("sets the burned share and the withdrawal delay with their events", async function () {
      const { vault, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(vault.connect(admin).setBurnShare(500n)).to.emit(vault, "BurnShareSet").withArgs(500n);
      await expect(vault.connect(admin).setWithdrawalDelay(DAY)).to.emit(vault, "WithdrawalDelaySet").withArgs(DAY);
      expect(await vault.burnBps()).to.equal(500n);
      expect(await vault.withdrawalDelay()).to.equal(DAY);
    });

    it("refuses invalid values", async function () {
      const { vault, admin } = await networkHelpers.loadFixture(deployFixture);
      await expect(vault.connect(admin).setBurnShare(10_001n))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidBurnShare")
        .withArgs(10_001n);
      await expect(vault.connect(admin).setWithdrawalDelay(MAX_WITHDRAWAL_DELAY + 1n))
        .to.be.revertedWithCustomError(vault, "CreditVaultInvalidDelay")
        .withArgs(MAX_WITHDRAWAL_DELAY + 1n);
    });

    it("refuses both setters to anyone but the admin", async function () {
      const { vault, outsider } = await networkHelpers.loadFixture(deployFixture);
      const role = await vault.DEFAULT_ADMIN_ROLE();
      await expect(vault.connect(outsider).setBurnShare(1n))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, role);
      await expect(vault.connect(outsider).setWithdrawalDelay(1n))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, role);
    });
  });

  describe("invariant", function () {
    it("keeps the vault's token balance equal to the deposits through deposits, settlements and withdrawals", async function () {
      const { vault, vaultAddress, token, consumer, funder, outsider, settler, voucher, sign } =
        await networkHelpers.loadFixture(fundedFixture);
      const held = async () =>
        (await vault.depositOf(consumer.address)).balance + (await vault.depositOf(outsider.address)).balance;
      await vault.connect(funder).depositFor(outsider.address, parseEther("7"));
      expect(await token.balanceOf(vaultAddress)).to.equal(await held());
      const v = voucher(parseEther("33"));
      await vault.connect(settler).settle(v, await sign(v));
      expect(await token.balanceOf(vaultAddress)).to.equal(await held());
      await vault.connect(consumer).requestWithdrawal(parseEther("20"));
      await time.increase(WITHDRAWAL_DELAY);
      await vault.connect(consumer).withdraw();
      expect(await token.balanceOf(vaultAddress)).to.equal(await held());
    });
  });

  describe("keeper vouchers and settlement (keeper/payment, claims/settle)", function () {
    it("a voucher signed by the keeper's code settles, and the keeper's digest is the vault's", async function () {
      const { vault, vaultAddress, consumer, provider, settler, poolAddress, token } =
        await networkHelpers.loadFixture(fundedFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const d = { chainId, vault: vaultAddress };
      const v = await signVoucher(consumer, d, provider.address, parseEther("3"), CONSUMER_PEER);
      expect(voucherDigest(d, v)).to.equal(await vault.hashVoucher(v));
      expect(verifyVoucher(d, v, provider.address).consumer).to.equal(consumer.address);
      const before = await token.balanceOf(poolAddress);
      await vault.connect(settler).settle(v, v.signature);
      expect(await vault.settledOf(consumer.address, provider.address)).to.equal(parseEther("3"));
      expect(await token.balanceOf(poolAddress)).to.equal(before + split(parseEther("3")).toPool);
    });

    it("settleVouchers settles the highest voucher of each channel once, and skips what the vault would refuse", async function () {
      const { vault, vaultAddress, consumer, provider, outsider, settler, funder } =
        await networkHelpers.loadFixture(fundedFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const d = { chainId, vault: vaultAddress };
      const vouchers = [
        await signVoucher(consumer, d, provider.address, parseEther("1"), CONSUMER_PEER),
        await signVoucher(consumer, d, provider.address, parseEther("4"), CONSUMER_PEER),
        await signVoucher(consumer, d, provider.address, parseEther("2"), CONSUMER_PEER),
        await signVoucher(consumer, d, outsider.address, parseEther("5"), CONSUMER_PEER),
        await signVoucher(funder, d, provider.address, parseEther("1"), CONSUMER_PEER), // funder deposited nothing
      ];
      const outcomes = await settleVouchers(vault.connect(settler), vouchers);
      const byChannel = new Map(outcomes.map((o) => [`${o.consumer}>${o.provider}`, o]));
      expect(outcomes).to.have.length(3, "one settlement per channel");
      expect(byChannel.get(`${consumer.address}>${provider.address}`)?.paid).to.equal(parseEther("4"), "the highest");
      expect(byChannel.get(`${consumer.address}>${outsider.address}`)?.paid).to.equal(parseEther("5"));
      expect(byChannel.get(`${funder.address}>${provider.address}`)?.skipped).to.equal("no deposit");
      expect(await vault.settledOf(consumer.address, provider.address)).to.equal(parseEther("4"));
      // Settling the same vouchers again sends nothing: every channel is settled up to its highest voucher.
      const again = await settleVouchers(vault.connect(settler), vouchers);
      expect(again.filter((o) => o.skipped === "settled")).to.have.length(2);
      expect(again.every((o) => o.paid === 0n)).to.equal(true);
      expect(await vault.totalSettled()).to.equal(parseEther("9"));
    });

    it("a provider's session reads the deposit: a voucher the deposit covers goes on, one above it cuts the session", async function () {
      const { vault, vaultAddress, consumer, provider, funder } = await networkHelpers.loadFixture(fundedFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const d = { chainId, vault: vaultAddress };
      const store = openStore(":memory:");
      const stats = { vouchersAccepted: 0, vouchersRejected: 0, voucherFramesRefused: 0, creditReadsLimited: 0 };
      const debts = new ConsumerDebts(100);
      let reads = 0;
      let lastRead: Promise<bigint> = Promise.resolve(0n);
      // The keeper's rule (limits.ts vaultCredit) with the whole deposit as this provider's share (depositShareBps
      // 10,000): the deposit left plus what the channel settled.
      const creditOf = (c: string, a: string) => {
        reads++;
        lastRead = Promise.all([vault.depositOf(c), vault.settledOf(c, a)]).then(
          ([dep, settled]) => dep.balance + settled,
        );
        return lastRead;
      };
      const session = (consumerPeer: string) =>
        new SessionLedger(
          {
            account: provider.address,
            domain: d,
            weiPerGiB: 10n ** 16n,
            unpaidAllowanceBytes: 1 << 30,
            creditOf,
          },
          {
            store: new PaymentStore(store),
            logger: createLogger("test", { level: "silent" }),
            stats,
            debts,
            credit: new CreditCache(creditOf, { ttlMs: 60_000, readsPerSecond: 100, max: 100 }),
          },
          consumerPeer,
        );
      const until = async (what: string, cond: () => boolean) => {
        const end = Date.now() + 10_000;
        while (!cond()) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      try {
        // Covered: DEPOSIT (100 LUM) ≥ 60 LUM; one read, and no second one below what it showed covered.
        const paying = session(CONSUMER_PEER);
        paying.sentBytes(1); // a voucher follows a part
        paying.accept(toWire(await signVoucher(consumer, d, provider.address, parseEther("60"), CONSUMER_PEER)));
        expect(reads).to.equal(1, "the first voucher is checked against the deposit");
        // The ledger's handler was attached first, so it has run once this read is seen.
        expect(await lastRead).to.equal(DEPOSIT);
        expect(() => paying.check()).not.to.throw();
        paying.accept(toWire(await signVoucher(consumer, d, provider.address, parseEther("80"), CONSUMER_PEER)));
        expect(reads).to.equal(1, "80 LUM is within the 100 LUM the read showed: no new read");
        // Not covered: the funder deposited nothing.
        const brokePeer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
        const broke = session(brokePeer);
        broke.sentBytes(1);
        broke.accept(toWire(await signVoucher(funder, d, provider.address, parseEther("1"), brokePeer)));
        await until("the session to be cut", () => {
          try {
            broke.check();
            return false;
          } catch (err) {
            return (err as Error).name === "PaymentRequiredError";
          }
        });
        // A later session of the same peer sends no voucher: the uncovered one paid for nothing. Before, its 1 LUM
        // counted as paid across sessions and bought 100 GiB that no deposit backed (review of 2026-11-30).
        const later = session(brokePeer);
        later.sentBytes(2 ** 31);
        expect(() => later.check()).to.throw(/above the allowance/);
        expect(stats.vouchersAccepted).to.equal(3);
      } finally {
        store.close();
      }
    });

    it("one deposit promised to two providers: each serves against its share of what the deposit still holds", async function () {
      const { vault, vaultAddress, consumer, provider, outsider, settler } =
        await networkHelpers.loadFixture(fundedFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const d = { chainId, vault: vaultAddress };
      const SHARE_BPS = 2_500; // the default (DEFAULT_DEPOSIT_SHARE_BPS): a quarter of the unspent deposit
      /** One provider (its own store, debts and cache, as a keeper has), serving CONSUMER_PEER. */
      const providerOf = (account: string) => {
        const store = openStore(":memory:");
        const stats = { vouchersAccepted: 0, vouchersRejected: 0, voucherFramesRefused: 0, creditReadsLimited: 0 };
        // What the keeper wires (keeper/components.ts): the settled amount plus its share of the deposit left.
        const creditOf = vaultCredit(vault, SHARE_BPS);
        const credit = new CreditCache(creditOf, { ttlMs: 0, readsPerSecond: 100, max: 100 });
        const debts = new ConsumerDebts(100);
        const session = () =>
          new SessionLedger(
            { account, domain: d, weiPerGiB: 10n ** 16n, unpaidAllowanceBytes: 1 << 30, creditOf },
            { store: new PaymentStore(store), logger: createLogger("test", { level: "silent" }), stats, debts, credit },
            CONSUMER_PEER,
          );
        return { store, session };
      };
      /** Resolves to whether the session is cut (PaymentRequiredError), once its deposit read has answered. */
      const cutAfterRead = async (ledger: SessionLedger, cut: boolean) => {
        const end = Date.now() + 10_000;
        for (;;) {
          let now: boolean;
          try {
            ledger.check();
            now = false;
          } catch (err) {
            if ((err as Error).name !== "PaymentRequiredError") throw err;
            now = true;
          }
          if (now === cut) return;
          if (Date.now() > end) throw new Error(`the session is ${now ? "" : "not "}cut`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const a = providerOf(provider.address);
      const b = providerOf(outsider.address);
      try {
        // DEPOSIT is 100 LUM: each provider may hold 25 LUM of unsettled vouchers.
        const sa = a.session();
        sa.sentBytes(1);
        sa.accept(toWire(await signVoucher(consumer, d, provider.address, parseEther("20"), CONSUMER_PEER)));
        const sb = b.session();
        sb.sentBytes(1);
        sb.accept(toWire(await signVoucher(consumer, d, outsider.address, parseEther("20"), CONSUMER_PEER)));
        await cutAfterRead(sa, false);
        await cutAfterRead(sb, false);
        // 60 LUM promised to A on the same 100 LUM: before, A counted the whole deposit (100 ≥ 60) and served on,
        // though B may settle first and leave A unpaid. Now 60 is above A's share (25): A stops.
        const greedy = await signVoucher(consumer, d, provider.address, parseEther("60"), CONSUMER_PEER);
        sa.sentBytes(1);
        sa.accept(toWire(greedy));
        await cutAfterRead(sa, true);
        expect(await vaultCredit(vault, SHARE_BPS)(consumer.address, provider.address)).to.equal(parseEther("25"));
        // B settles its 20: the deposit left is 80, A's share of it 20, so what A may count is 0 settled + 20 —
        // others' settlements lower every provider's share. A settling its own 60 makes it paid: 60 + ¼ · 20.
        const { signature: sigB, ...bodyB } = await signVoucher(
          consumer,
          d,
          outsider.address,
          parseEther("20"),
          CONSUMER_PEER,
        );
        await (await vault.connect(settler).settle(bodyB, sigB)).wait();
        expect(await vaultCredit(vault, SHARE_BPS)(consumer.address, provider.address)).to.equal(parseEther("20"));
        const { signature: sigA, ...bodyA } = greedy;
        await (await vault.connect(settler).settle(bodyA, sigA)).wait();
        expect(await vaultCredit(vault, SHARE_BPS)(consumer.address, provider.address)).to.equal(parseEther("65"));
        const after = a.session();
        after.sentBytes(1);
        after.accept(toWire(await signVoucher(consumer, d, provider.address, parseEther("64"), CONSUMER_PEER)));
        await cutAfterRead(after, false);
        expect(() => vaultCredit(vault, 10_001)).to.throw(RangeError);
      } finally {
        a.store.close();
        b.store.close();
      }
    });

    it("an epoch's evidence settles on chain: the vouchers its receipts carry, forged ones left out", async function () {
      const { vault, vaultAddress, consumer, provider, outsider, settler } =
        await networkHelpers.loadFixture(fundedFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const d = { chainId, vault: vaultAddress };
      const consumerKey = await generateKeyPair("Ed25519");
      const consumerPeer = peerIdFromPrivateKey(consumerKey).toString();
      const providerPeer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
      const receipt = async (v: Awaited<ReturnType<typeof signVoucher>>, n: number) => {
        const objectId = new Uint8Array(32);
        objectId[0] = n;
        const signed = await signReceipt(consumerKey, {
          objectId,
          provider: providerPeer,
          consumer: consumerPeer,
          epoch: 1n,
          bytes: 1000n,
          parts: [0],
          issuedAtMs: 1n,
          voucher: toWire(v),
        });
        return { provider: providerPeer, ...signed };
      };
      const forged = await signVoucher(outsider, d, provider.address, parseEther("50"), consumerPeer);
      const evidence = {
        receipts: [
          await receipt(await signVoucher(consumer, d, provider.address, parseEther("6"), consumerPeer), 1),
          await receipt(await signVoucher(consumer, d, provider.address, parseEther("7"), consumerPeer), 2),
          await receipt({ ...forged, consumer: consumer.address }, 3),
        ],
        records: [],
        outcomes: [],
      };
      const { vouchers, skipped } = await vouchersOfEvidence(evidence, { chainId, address: vaultAddress });
      expect(vouchers).to.have.length(2);
      expect(skipped).to.have.length(1);
      expect(skipped[0]).to.match(/not by its consumer/);
      const result = await settleEpochVouchers(vault.connect(settler), vouchers);
      expect(result.paid).to.equal(parseEther("7"));
      expect(await vault.settledOf(consumer.address, provider.address)).to.equal(parseEther("7"));
    });
  });
});
