import { expect } from "chai";
import { MaxUint256, Signature, TypedDataEncoder, ZeroAddress, parseEther, verifyTypedData } from "ethers";
import { network } from "hardhat";

import type { LumoraToken } from "../../types/ethers-contracts/index.js";

const { ethers, networkHelpers } = await network.create();

const INITIAL_SUPPLY = parseEther("1000000000");

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

describe("LumoraToken", function () {
  async function deployTokenFixture() {
    const [deployer, treasury, spender, stranger] = await ethers.getSigners();
    const token: LumoraToken = await ethers.deployContract("LumoraToken", [treasury.address, INITIAL_SUPPLY]);
    const { chainId } = await ethers.provider.getNetwork();
    const domain = { name: "Lumora", version: "1", chainId, verifyingContract: await token.getAddress() };
    return { token, deployer, treasury, spender, stranger, domain };
  }

  /** A signed permit from `treasury` to `spender`, valid for an hour unless told otherwise. */
  async function signPermit(
    fixture: Awaited<ReturnType<typeof deployTokenFixture>>,
    overrides: { value?: bigint; nonce?: bigint; deadline?: bigint; signer?: (typeof fixture)["treasury"] } = {},
  ) {
    const { token, treasury, spender, domain } = fixture;
    const message = {
      owner: treasury.address,
      spender: spender.address,
      value: overrides.value ?? parseEther("250"),
      nonce: overrides.nonce ?? (await token.nonces(treasury.address)),
      deadline: overrides.deadline ?? BigInt(await networkHelpers.time.latest()) + 3600n,
    };
    const signature = Signature.from(await (overrides.signer ?? treasury).signTypedData(domain, PERMIT_TYPES, message));
    return { message, signature };
  }

  describe("deployment", function () {
    it("is named Lumora with symbol LUM and 18 decimals", async function () {
      const { token } = await networkHelpers.loadFixture(deployTokenFixture);
      expect(await token.name()).to.equal("Lumora");
      expect(await token.symbol()).to.equal("LUM");
      expect(await token.decimals()).to.equal(18n);
    });

    it("mints the whole initial supply to the treasury and nothing to the deployer", async function () {
      const { token, deployer, treasury } = await networkHelpers.loadFixture(deployTokenFixture);
      expect(await token.totalSupply()).to.equal(INITIAL_SUPPLY);
      expect(await token.balanceOf(treasury.address)).to.equal(INITIAL_SUPPLY);
      expect(await token.balanceOf(deployer.address)).to.equal(0n);
    });

    it("emits the mint as a Transfer from the zero address", async function () {
      const [, treasury] = await ethers.getSigners();
      const token = await ethers.deployContract("LumoraToken", [treasury.address, 12_345n]);
      await expect(token.deploymentTransaction())
        .to.emit(token, "Transfer")
        .withArgs(ZeroAddress, treasury.address, 12_345n);
    });

    it("accepts a zero initial supply", async function () {
      const [, treasury] = await ethers.getSigners();
      const token = await ethers.deployContract("LumoraToken", [treasury.address, 0n]);
      expect(await token.totalSupply()).to.equal(0n);
    });

    it("reverts when the treasury is the zero address", async function () {
      const factory = await ethers.getContractFactory("LumoraToken");
      await expect(factory.deploy(ZeroAddress, INITIAL_SUPPLY)).to.be.revertedWithCustomError(
        factory,
        "LumoraTokenZeroTreasury",
      );
    });

    it("offers no way to mint after deployment", async function () {
      const { token } = await networkHelpers.loadFixture(deployTokenFixture);
      const functions = token.interface.fragments.filter((f) => f.type === "function").map((f) => f.format("sighash"));
      expect(functions.filter((f) => /mint/i.test(f))).to.deep.equal([]);
    });
  });

  describe("permit (EIP-2612)", function () {
    it("publishes the EIP-712 domain the permits are signed for", async function () {
      const { token, domain } = await networkHelpers.loadFixture(deployTokenFixture);
      expect(await token.DOMAIN_SEPARATOR()).to.equal(TypedDataEncoder.hashDomain(domain));
      const published = await token.eip712Domain();
      expect([published.name, published.version, published.chainId, published.verifyingContract]).to.deep.equal([
        domain.name,
        domain.version,
        domain.chainId,
        domain.verifyingContract,
      ]);
    });

    it("sets the allowance from a signed permit, submitted by anyone, and consumes the nonce", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token, treasury, spender, stranger } = fixture;
      const { message, signature } = await signPermit(fixture);

      await expect(
        token
          .connect(stranger)
          .permit(
            message.owner,
            message.spender,
            message.value,
            message.deadline,
            signature.v,
            signature.r,
            signature.s,
          ),
      )
        .to.emit(token, "Approval")
        .withArgs(treasury.address, spender.address, message.value);
      expect(await token.allowance(treasury.address, spender.address)).to.equal(message.value);
      expect(await token.nonces(treasury.address)).to.equal(message.nonce + 1n);
    });

    it("lets the spender move the permitted amount and not more", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token, treasury, spender, stranger } = fixture;
      const { message, signature } = await signPermit(fixture);
      await token.permit(
        message.owner,
        message.spender,
        message.value,
        message.deadline,
        signature.v,
        signature.r,
        signature.s,
      );

      await expect(
        token.connect(spender).transferFrom(treasury.address, stranger.address, message.value),
      ).to.changeTokenBalances(ethers, token, [treasury, stranger], [-message.value, message.value]);
      await expect(token.connect(spender).transferFrom(treasury.address, stranger.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(spender.address, 0n, 1n);
    });

    it("rejects a replayed permit", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token, treasury, domain } = fixture;
      const { message, signature } = await signPermit(fixture);
      const args = [
        message.owner,
        message.spender,
        message.value,
        message.deadline,
        signature.v,
        signature.r,
        signature.s,
      ] as const;
      await token.permit(...args);

      // The nonce moved on, so the same signature now recovers to an unrelated address.
      const recovered = verifyTypedData(domain, PERMIT_TYPES, { ...message, nonce: message.nonce + 1n }, signature);
      expect(recovered).to.not.equal(treasury.address);
      await expect(token.permit(...args))
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(recovered, treasury.address);
    });

    it("rejects an expired permit", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token } = fixture;
      const deadline = BigInt(await networkHelpers.time.latest()) + 60n;
      const { message, signature } = await signPermit(fixture, { deadline });
      await networkHelpers.time.increaseTo(deadline + 1n);
      await expect(
        token.permit(
          message.owner,
          message.spender,
          message.value,
          message.deadline,
          signature.v,
          signature.r,
          signature.s,
        ),
      )
        .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
        .withArgs(deadline);
    });

    it("accepts a permit in the block of its deadline", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token, treasury, spender } = fixture;
      const deadline = BigInt(await networkHelpers.time.latest()) + 60n;
      const { message, signature } = await signPermit(fixture, { deadline, value: MaxUint256 });
      await networkHelpers.time.setNextBlockTimestamp(deadline);
      await token.permit(
        message.owner,
        message.spender,
        message.value,
        message.deadline,
        signature.v,
        signature.r,
        signature.s,
      );
      expect(await token.allowance(treasury.address, spender.address)).to.equal(MaxUint256);
    });

    it("rejects a permit signed by someone other than the owner", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token, treasury, stranger } = fixture;
      const { message, signature } = await signPermit(fixture, { signer: stranger });
      await expect(
        token.permit(
          message.owner,
          message.spender,
          message.value,
          message.deadline,
          signature.v,
          signature.r,
          signature.s,
        ),
      )
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(stranger.address, treasury.address);
    });

    it("rejects a permit whose value was changed after signing", async function () {
      const fixture = await networkHelpers.loadFixture(deployTokenFixture);
      const { token, treasury, domain } = fixture;
      const { message, signature } = await signPermit(fixture);
      const changed = { ...message, value: message.value + 1n };
      const recovered = verifyTypedData(domain, PERMIT_TYPES, changed, signature);
      await expect(
        token.permit(
          changed.owner,
          changed.spender,
          changed.value,
          changed.deadline,
          signature.v,
          signature.r,
          signature.s,
        ),
      )
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(recovered, treasury.address);
    });
  });
});
