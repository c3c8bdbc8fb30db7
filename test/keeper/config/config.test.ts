import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { Wallet } from "ethers";

import {
  ConfigError,
  ConfigFileError,
  configTemplate,
  envName,
  LIMIT_DEFAULTS,
  loadChainKey,
  loadConsumerKey,
  loadConfig,
  parseJsonc,
  SecretError,
  toKeeperConfig,
  writeKeystore,
} from "../../../keeper/config/index.ts";
import { createLogger } from "../../../keeper/logger.ts";
import type { DeploymentRecord } from "../../../keeper/chain/index.ts";
import { RPC_MAX_SOCKETS } from "../../../keeper/chain/constants.ts";
import { OBSERVATION_GATHER_WAIT_MS } from "../../../keeper/epochs/observe/constants.ts";
import { DEFAULT_FORGET_FAILED_AFTER_MS, DEFAULT_SUSPICION_MAX_MULT } from "../../../keeper/health/constants.ts";
import {
  DEFAULT_DEPOSIT_SHARE_BPS,
  DEFAULT_MAX_SETTLES_PER_CLOSE,
  DEFAULT_MIN_SETTLE_AMOUNT,
  DEFAULT_UNFUNDED_BUDGET_BYTES,
  DEFAULT_UNFUNDED_BUDGET_WINDOW_MS,
  DEFAULT_UNPAID_ALLOWANCE_BYTES,
  SETTLE_GRID_MS,
  SETTLE_WINDOW_MS,
} from "../../../keeper/payment/constants.ts";

const ADDRESS = "0x" + "ab".repeat(20);
const dir = mkdtempSync(join(tmpdir(), "lumora-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function issuesOf(fn: () => unknown): ConfigError["issues"] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail("expected the configuration to be rejected");
}

describe("config", () => {
  it("reads the commented file init writes, with defaults, and maps it onto KeeperConfig", () => {
    const path = file("init.json", configTemplate({ rewardAddress: ADDRESS }));
    const { config } = loadConfig({ file: path, env: {} });
    assert.equal(config.node.rewardAddress, ADDRESS);
    assert.deepEqual(config.p2p.listen, ["/ip4/0.0.0.0/tcp/4001"]);
    assert.equal(config.api.port, 9464);
    assert.equal(config.dataDir, join(dir, "lumora-data"), "dataDir is relative to the config file");
    const keeper = toKeeperConfig(config);
    assert.equal(keeper.rewardAddress, ADDRESS);
    assert.deepEqual(keeper.capabilities, ["provider", "executor", "coordinator"]);
    assert.equal(keeper.announce, undefined);
  });

  it("turns paid demand on by default, maps price, subsidy, allowance and the consumer key; off on request", () => {
    const path = file("payment.json", configTemplate({ rewardAddress: ADDRESS }));
    assert.equal(loadConfig({ file: path, env: {} }).config.payment.enabled, true, "the template's default");
    const bare = file("bare.json", JSON.stringify({ node: { rewardAddress: ADDRESS } }));
    assert.equal(loadConfig({ file: bare, env: {} }).config.payment.enabled, true, "the schema's default");
    const off = loadConfig({ file: path, env: { LUMORA_PAYMENT_ENABLED: "false" } }).config;
    assert.equal(off.payment.enabled, false);
    assert.equal(toKeeperConfig(off).payment, undefined, "no payment section: receipts count in full");
    const on = loadConfig({ file: path, env: { LUMORA_PAYMENT_LUM_PER_GIB: "0.5" } }).config;
    const key = "0x" + "11".repeat(32);
    const keeper = toKeeperConfig(on, undefined, {
      consumerKey: loadConsumerKey({ LUMORA_CONSUMER_KEY: key.slice(2) }),
    });
    assert.deepEqual(keeper.payment, {
      weiPerGiB: 5n * 10n ** 17n,
      subsidyBps: 500n,
      unpaidAllowanceBytes: DEFAULT_UNPAID_ALLOWANCE_BYTES,
      unfundedBudget: { bytes: DEFAULT_UNFUNDED_BUDGET_BYTES, windowMs: DEFAULT_UNFUNDED_BUDGET_WINDOW_MS },
      checkDeposits: true,
      depositShareBps: DEFAULT_DEPOSIT_SHARE_BPS,
      settle: { gridMs: SETTLE_GRID_MS, windowMs: SETTLE_WINDOW_MS },
      minSettleAmount: DEFAULT_MIN_SETTLE_AMOUNT,
      maxSettlesPerClose: DEFAULT_MAX_SETTLES_PER_CLOSE,
      consumerKey: key,
    });
    assert.equal(DEFAULT_MIN_SETTLE_AMOUNT, 10n ** 15n, "0.001 LUM: the documented default");
    const cheap = loadConfig({
      file: path,
      env: { LUMORA_PAYMENT_MIN_SETTLE_LUM: "0", LUMORA_PAYMENT_DEPOSIT_SHARE_BPS: "10000" },
    }).config;
    assert.equal(toKeeperConfig(cheap).payment?.minSettleAmount, 0n);
    assert.equal(toKeeperConfig(cheap).payment?.depositShareBps, 10_000);
    const short = loadConfig({ file: path, env: { LUMORA_PAYMENT_SETTLE_WINDOW_MS: "20000" } }).config;
    assert.deepEqual(toKeeperConfig(short).payment?.settle, { gridMs: SETTLE_GRID_MS, windowMs: 20_000 });
    assert.ok(
      issuesOf(() => loadConfig({ file: path, env: { LUMORA_PAYMENT_SETTLE_WINDOW_MS: "0" } })).some(
        (i) => i.field === "payment.settleWindowMs",
      ),
    );
    assert.throws(() => loadConsumerKey({ LUMORA_CONSUMER_KEY: "0x1234" }), /LUMORA_CONSUMER_KEY must be a 32-byte/);
    assert.ok(
      issuesOf(() => loadConfig({ file: path, env: { LUMORA_PAYMENT_LUM_PER_GIB: "cheap" } })).some(
        (i) => i.field === "payment.lumPerGib",
      ),
    );
  });

  it("gives every cap in limits its documented default, lets the environment set one, and maps them", () => {
    const path = file("limits.json", configTemplate({ rewardAddress: ADDRESS }));
    const { config } = loadConfig({ file: path, env: {} });
    for (const [field, value] of Object.entries(LIMIT_DEFAULTS)) {
      const [section, leaf] = field.split(".") as [keyof typeof config.limits, string];
      assert.equal((config.limits[section] as Record<string, number>)[leaf], value, `limits.${field} defaults`);
    }
    assert.deepEqual(config.api.publishDirs, [], "publishing is off until directories are listed");
    const set = loadConfig({
      file: path,
      env: { LUMORA_LIMITS_TRANSFER_MAX_SESSIONS: "12", LUMORA_API_PUBLISH_DIRS: "objects" },
    }).config;
    assert.equal(set.limits.transfer.maxSessions, 12);
    assert.deepEqual(set.api.publishDirs, [join(dir, "objects")], "publishDirs are relative to the config file");
    const keeper = toKeeperConfig(set);
    assert.equal(keeper.limits?.transfer?.maxInboundSessions, 12);
    assert.equal(keeper.limits?.connections?.maxConnectionsPerIp, LIMIT_DEFAULTS["connections.perIp"]);
    assert.ok(
      issuesOf(() => loadConfig({ file: path, env: { LUMORA_LIMITS_BANS_MAX: "0" } })).some(
        (i) => i.field === "limits.bans.max",
      ),
    );
  });

  it("sets the RPC socket cap, the observation rule's f and wait, and health's forget delay and suspicionMaxMult from the file", () => {
    const defaults = loadConfig({ file: file("defaults.json", configTemplate({ rewardAddress: ADDRESS })), env: {} });
    assert.equal(defaults.config.chain.rpcMaxSockets, RPC_MAX_SOCKETS);
    assert.equal(defaults.config.epochs.observationMaxFaulty, undefined, "f follows the quorum's size unless set");
    assert.equal(toKeeperConfig(defaults.config).epochs?.observations?.rule, undefined);
    assert.equal(defaults.config.epochs.observationWaitMs, OBSERVATION_GATHER_WAIT_MS);
    assert.equal(defaults.config.health.forgetFailedAfterMs, DEFAULT_FORGET_FAILED_AFTER_MS);
    assert.equal(defaults.config.health.suspicionMaxMult, DEFAULT_SUSPICION_MAX_MULT);
    const path = file(
      "tuned.json",
      JSON.stringify({
        node: { rewardAddress: ADDRESS },
        chain: { rpcUrl: "http://127.0.0.1:8545", rpcMaxSockets: 3 },
        epochs: { observationMaxFaulty: 2, observationWaitMs: 5_000 },
        health: { forgetFailedAfterMs: 60_000, suspicionMaxMult: 3 },
      }),
    );
    const { config } = loadConfig({ file: path, env: {} });
    // Only passed through (the chain section is built when both the RPC URL and a deployment are known).
    const deployment = { chainId: 31337, contracts: {} } as unknown as DeploymentRecord;
    const keeper = toKeeperConfig(config, undefined, { deployment });
    assert.equal(keeper.epochs?.chain?.rpcMaxSockets, 3);
    assert.deepEqual(keeper.epochs?.observations, { rule: { maxFaulty: 2 }, waitMs: 5_000 });
    assert.equal(keeper.health?.forgetFailedAfterMs, 60_000);
    assert.equal(keeper.health?.suspicionMaxMult, 3);
    const lone = loadConfig({ file: path, env: { LUMORA_HEALTH_SUSPICION_MAX_MULT: "1" } }).config;
    assert.equal(lone.health.suspicionMaxMult, 1, "the environment sets suspicionMaxMult too (1: a fixed S)");
    const env = loadConfig({ file: path, env: { LUMORA_EPOCHS_OBSERVATION_MAX_FAULTY: "0" } }).config;
    assert.equal(env.epochs.observationMaxFaulty, 0, "the environment sets f too");
    for (const [field, value] of [
      ["epochs.observationMaxFaulty", 65],
      ["chain.rpcMaxSockets", 0],
      ["epochs.observationWaitMs", 0],
      ["health.forgetFailedAfterMs", -1],
      ["health.suspicionMaxMult", 0.5],
    ] as const) {
      const [section, leaf] = field.split(".") as [string, string];
      const bad = file("bad.json", JSON.stringify({ node: { rewardAddress: ADDRESS }, [section]: { [leaf]: value } }));
      assert.ok(
        issuesOf(() => loadConfig({ file: bad, env: {} })).some((i) => i.field === field),
        `${field} = ${value} is refused`,
      );
    }
  });

  it("keeps // inside strings and accepts trailing commas", () => {
    assert.deepEqual(parseJsonc('{ "u": "https://x.org//a", /* c */ "l": [1, 2,], // end\n}'), {
      u: "https://x.org//a",
      l: [1, 2],
    });
  });

  it("lets the environment override the file and flags override both", () => {
    const path = file("layers.json", JSON.stringify({ node: { rewardAddress: ADDRESS }, api: { port: 1000 } }));
    const env = {
      LUMORA_API_PORT: "2000",
      LUMORA_P2P_ANNOUNCE: "/ip4/203.0.113.7/tcp/4001, /dns4/k.example.org/tcp/4001",
    };
    const { config } = loadConfig({ file: path, env });
    assert.equal(config.api.port, 2000);
    assert.deepEqual(config.p2p.announce, ["/ip4/203.0.113.7/tcp/4001", "/dns4/k.example.org/tcp/4001"]);
    assert.equal(loadConfig({ file: path, env, flags: { "api.port": "3000" } }).config.api.port, 3000);
    assert.equal(envName("node.rewardAddress"), "LUMORA_NODE_REWARD_ADDRESS");
  });

  it("names every wrong field, what is wrong and where the value came from", () => {
    const path = file(
      "bad.json",
      JSON.stringify({
        node: { rewardAddress: "0x12", capacity: 0 },
        api: { port: 70_000 },
        p2p: { bootstrap: ["/ip4/1.2.3.4/tcp/1"] },
        colour: "red",
      }),
    );
    const issues = issuesOf(() =>
      loadConfig({ file: path, env: { LUMORA_NODE_BANDWIDTH_BPS: "fast" }, flags: { "log.level": "loud" } }),
    );
    const by = new Map(issues.map((i) => [i.field, i]));
    assert.match(by.get("node.rewardAddress")?.message ?? "", /0x-prefixed 20-byte/);
    assert.match(by.get("node.capacity")?.message ?? "", /≥ 1/);
    assert.match(by.get("api.port")?.message ?? "", /port number/);
    assert.match(by.get("p2p.bootstrap.0")?.message ?? "", /\/p2p\/<peer id>/);
    assert.match(by.get("colour")?.message ?? "", /unknown field/);
    assert.equal(by.get("node.bandwidthBps")?.source, "environment LUMORA_NODE_BANDWIDTH_BPS");
    assert.equal(by.get("log.level")?.source, "flag --log-level");
    assert.equal(by.get("api.port")?.source, path);
  });

  it("checks epochs.cron strictly, from the file, the environment or a flag", () => {
    const path = file(
      "cron.json",
      JSON.stringify({ node: { rewardAddress: ADDRESS }, epochs: { cron: "*/61 * * * * *" } }),
    );
    const fromFile = issuesOf(() => loadConfig({ file: path, env: {} }));
    assert.deepEqual(
      fromFile.map((i) => [i.field, i.source]),
      [["epochs.cron", path]],
    );
    assert.match(fromFile[0]!.message, /^seconds field "\*\/61": step 61 .* outside 1-59$/);
    const fromEnv = issuesOf(() => loadConfig({ file: path, env: { LUMORA_EPOCHS_CRON: "0 0 24 * * *" } }));
    assert.equal(fromEnv[0]?.source, "environment LUMORA_EPOCHS_CRON");
    assert.match(fromEnv[0]!.message, /^hours field "24": 24 is outside 0-23$/);
    const ok = loadConfig({ file: path, env: {}, flags: { "epochs.cron": "*/30 * * * * *" } });
    assert.equal(ok.config.epochs.cron, "*/30 * * * * *");
  });

  it("reports a missing required field and a missing or malformed file", () => {
    const issues = issuesOf(() => loadConfig({ file: file("empty.json", "{}"), env: {} }));
    assert.deepEqual(
      issues.map((i) => [i.field, i.message]),
      [["node", "is required"]],
    );
    assert.throws(() => loadConfig({ file: join(dir, "nope.json"), env: {} }), ConfigFileError);
    assert.throws(() => loadConfig({ file: file("broken.json", "{ nope"), env: {} }), /not valid JSON/);
  });

  it("takes the chain key from the environment or an encrypted keystore, never from the file", async () => {
    const wallet = Wallet.createRandom();
    assert.equal((await loadChainKey({ env: { LUMORA_CHAIN_KEY: wallet.privateKey } }))?.address, wallet.address);
    await assert.rejects(loadChainKey({ env: { LUMORA_CHAIN_KEY: "0x1234" } }), SecretError);
    assert.equal(await loadChainKey({ env: {} }), undefined);
    const keystore = join(dir, "keystore.json");
    await writeKeystore(keystore, new Wallet(wallet.privateKey), "correct horse");
    const loaded = await loadChainKey({ keystore, env: { LUMORA_KEYSTORE_PASSWORD: "correct horse" } });
    assert.equal(loaded?.address, wallet.address);
    await assert.rejects(loadChainKey({ keystore, env: { LUMORA_KEYSTORE_PASSWORD: "wrong" } }), /cannot decrypt/);
    await assert.rejects(loadChainKey({ keystore, env: {} }), /LUMORA_KEYSTORE_PASSWORD/);
    const issues = issuesOf(() =>
      loadConfig({
        file: file("secret.json", JSON.stringify({ node: { rewardAddress: ADDRESS }, chain: { privateKey: "0x00" } })),
        env: {},
      }),
    );
    assert.equal(issues[0]?.field, "chain.privateKey", "a key in the file is refused as an unknown field");
  });

  it("never writes secret fields to the log, at any level", () => {
    const lines: string[] = [];
    const log = createLogger("t", { level: "debug", sink: (l) => lines.push(l) });
    log.debug("x", { privateKey: "0xdead", password: "p", address: "0x01" });
    assert.doesNotMatch(lines[0]!, /0xdead|"p"/);
    assert.match(lines[0]!, /"address":"0x01"/);
  });
});
