import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { makeError } from "ethers";

import {
  Chain,
  ContractRevertError,
  GasPriceAboveCapError,
  RpcUnavailableError,
  WrongChainError,
  classifyRpcError,
  withRetry,
} from "../../../keeper/chain/index.ts";
import { collectingLogger, silent } from "../helpers.ts";
import { deployLumora, devWallet, freePort, rpcProvider, startHardhatNode, type HardhatNode } from "./helpers.ts";

const KEEPER = devWallet(9);

describe("chain error classification", () => {
  it("retries connection failures, timeouts and 5xx but never reverts", () => {
    assert.equal(
      classifyRpcError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })),
      "transient",
    );
    assert.equal(classifyRpcError(makeError("request timeout", "TIMEOUT")), "transient");
    assert.equal(classifyRpcError(Object.assign(new Error("bad response"), { code: "SERVER_ERROR" })), "transient");
    assert.equal(
      classifyRpcError(
        makeError("execution reverted", "CALL_EXCEPTION", {
          action: "call",
          data: "0x",
          reason: null,
          transaction: { to: null, data: "" },
          invocation: null,
          revert: null,
        }),
      ),
      "revert",
    );
    assert.equal(classifyRpcError(makeError("nonce", "NONCE_EXPIRED", { transaction: {} as never })), "nonce");
    assert.equal(classifyRpcError(makeError("funds", "INSUFFICIENT_FUNDS", { transaction: {} as never })), "fatal");
  });

  it("gives up on a dead endpoint with RpcUnavailableError after the retry budget", async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        "probe",
        async () => {
          calls++;
          throw Object.assign(new Error("ECONNREFUSED"), { code: "ECONNREFUSED" });
        },
        { initialDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 150 },
      ),
      RpcUnavailableError,
    );
    assert.ok(calls >= 3, `retried (${calls} calls)`);
  });
});

describe("chain access on a Hardhat node", () => {
  let node: HardhatNode;
  let record: Awaited<ReturnType<typeof deployLumora>>["record"];

  before(async () => {
    node = await startHardhatNode();
    ({ record } = await deployLumora(node.url, { keepers: [KEEPER.address] }));
  });
  after(async () => node.stop());

  it("decodes a revert into the contract's custom error and does not retry it", async () => {
    const chain = new Chain(
      { logger: silent },
      { rpcUrl: node.url, deployment: record, privateKey: KEEPER.privateKey },
    );
    try {
      const { taskLog } = chain.contracts;
      await assert.rejects(
        chain.send({
          label: "TaskLog.commit(5)",
          to: record.contracts.TaskLog,
          data: taskLog.interface.encodeFunctionData("commit", [5, "0x" + "11".repeat(32), 1, "x"]),
          iface: taskLog.interface,
        }),
        (err: unknown) =>
          err instanceof ContractRevertError &&
          err.errorName === "TaskLogNonConsecutiveEpoch" &&
          err.errorArgs[1] === 1n,
      );
    } finally {
      await chain.stop();
    }
  });

  it("recovers when another transaction of the same key took the cached nonce", async () => {
    const chain = new Chain(
      { logger: silent },
      { rpcUrl: node.url, deployment: record, privateKey: KEEPER.privateKey, receiptPollMs: 20 },
    );
    const provider = rpcProvider(node.url);
    try {
      const { taskLog } = chain.contracts;
      const commit = (e: number) => ({
        label: `TaskLog.commit(${e})`,
        to: record.contracts.TaskLog,
        data: taskLog.interface.encodeFunctionData("commit", [e, "0x" + "22".repeat(32), 1, "x"]),
      });
      await chain.send(commit(1));
      // Same key, other process: the chain's cached next nonce is now taken.
      await (await KEEPER.connect(provider).sendTransaction({ to: KEEPER.address, value: 1n })).wait();
      const out = await chain.send(commit(2));
      assert.equal(out.nonce, 2);
      assert.equal(await taskLog.lastEpoch(), 2n);
    } finally {
      provider.destroy();
      await chain.stop();
    }
  });

  it("refuses to send above the fee cap, waiting and then failing with GasPriceAboveCapError", async () => {
    const { log, lines } = collectingLogger();
    const chain = new Chain(
      { logger: log },
      {
        rpcUrl: node.url,
        deployment: record,
        privateKey: KEEPER.privateKey,
        maxFeePerGasWei: 1n,
        gasCapPollMs: 50,
        gasCapMaxWaitMs: 300,
      },
    );
    try {
      const { taskLog } = chain.contracts;
      await assert.rejects(
        chain.send({
          label: "TaskLog.commit(3)",
          to: record.contracts.TaskLog,
          data: taskLog.interface.encodeFunctionData("commit", [3, "0x" + "33".repeat(32), 1, "x"]),
        }),
        GasPriceAboveCapError,
      );
      assert.ok(
        lines.some((l) => l.msg === "fees above the cap, waiting"),
        "it waited before giving up",
      );
      assert.ok(!JSON.stringify(lines).includes(KEEPER.privateKey.slice(2)), "the key is never logged");
      assert.equal(await taskLog.lastEpoch(), 2n, "nothing was sent");
    } finally {
      await chain.stop();
    }
  });

  it("checks the chain id of the node against the deployment", async () => {
    const chain = new Chain({ logger: silent }, { rpcUrl: node.url, deployment: { ...record, chainId: 5 } });
    await assert.rejects(chain.start(), WrongChainError);
    await chain.stop();
    const port = await freePort();
    const dead = new Chain(
      { logger: silent },
      { rpcUrl: `http://127.0.0.1:${port}`, deployment: record, retry: { initialDelayMs: 5, maxElapsedMs: 100 } },
    );
    await assert.rejects(dead.start(), RpcUnavailableError);
    await dead.stop();
  });
});
