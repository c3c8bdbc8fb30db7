/**
 * The CLI's one-line errors (keeper/cli/errors.ts): chain (ethers) errors print their code and short message,
 * never the whole object or the detail block ethers appends; exit codes follow the error's kind.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Interface } from "ethers";

import { ConfigError } from "../../../keeper/config/index.ts";
import {
  CliError,
  describeError,
  EXIT_FAILURE,
  EXIT_USAGE,
  exitCodeOf,
  stripEthersDetails,
} from "../../../keeper/cli/errors.ts";
import { DataDirLockedError } from "../../../keeper/store/errors.ts";

const iface = new Interface([
  "function balance() view returns (uint256)",
  "error RewardPoolInvalidProof(uint64 epoch, address account)",
]);

/** The error ethers throws, for real, when a call's result cannot be decoded (`eth_call` returned 0x). */
function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected an error");
}

const badData = () => caught(() => iface.decodeFunctionResult("balance", "0x"));

function assertOneLine(text: string): void {
  assert.equal(text.split("\n").length, 1, `one line: ${text}`);
  assert.doesNotMatch(text, /version=|info=|\{ "method"/, `no ethers detail block: ${text}`);
}

describe("cli/errors", () => {
  it("prints an ethers error as its code and short message, with what to check", () => {
    const err = badData();
    assert.match(err.message, /value="0x", info=\{ "method": "balance"/, "ethers' own message has the details");
    const line = describeError(err, false);
    assertOneLine(line);
    assert.equal(
      line,
      "lumora-keeper: chain error BAD_DATA: could not decode result data — is the contract deployed at that " +
        "address on this network? check chain.rpcUrl and chain.deployment (run with --debug for details)",
    );
    assert.equal(exitCodeOf(err), EXIT_FAILURE);
  });

  it("prints a revert with its code and short message", () => {
    const data = iface.encodeErrorResult("RewardPoolInvalidProof", [3, "0x" + "ab".repeat(20)]);
    // What a Contract call throws on a revert (ethers builds it with Interface.makeError).
    const err = iface.makeError(data, { to: "0x" + "01".repeat(20), data: iface.encodeFunctionData("balance") });
    assert.equal(err.shortMessage, "execution reverted (unknown custom error)");
    const line = describeError(err, false);
    assertOneLine(line);
    assert.equal(
      line,
      "lumora-keeper: chain error CALL_EXCEPTION: execution reverted: RewardPoolInvalidProof(uint64,address) — " +
        "the contract refused the call (run with --debug for details)",
    );
  });

  it("strips the ethers detail block from messages that embed one, keeping the code", () => {
    const inner = badData().message;
    assert.equal(
      stripEthersDetails(`cannot read the pool: ${inner}`),
      "cannot read the pool: could not decode result data [BAD_DATA]",
    );
    const wrapped = describeError(new CliError(`chain.deployment: cannot use x.json: ${inner}`), false);
    assert.equal(
      wrapped,
      "lumora-keeper: chain.deployment: cannot use x.json: could not decode result data [BAD_DATA]",
    );
    const unknown = describeError(new Error(`boom: ${inner}\nsecond line`), false);
    assertOneLine(unknown);
    assert.equal(
      unknown,
      "lumora-keeper: Error: boom: could not decode result data [BAD_DATA] second line (run with --debug for details)",
    );
    const parens =
      'execution reverted (unknown custom error) (action="call", data="0x1234", reason=null, ' +
      'transaction={ "data": "0x", "to": "0x0" }, invocation=null, revert=null, code=CALL_EXCEPTION, version=6.17.0)';
    assert.equal(stripEthersDetails(parens), "execution reverted (unknown custom error) [CALL_EXCEPTION]");
  });

  it("prints the stack with --debug, and keeps config errors one line per field with exit 2", () => {
    assert.match(describeError(badData(), true), /^lumora-keeper: Error: could not decode result data .*\n\s+at /);
    const config = new ConfigError([
      { field: "epochs.cron", message: 'hours field "24": 24 is outside 0-23' },
      { field: "api.port", message: "must be a port number 0-65535", source: "flag --api-port" },
    ]);
    assert.equal(
      describeError(config, false),
      'lumora-keeper: config: epochs.cron: hours field "24": 24 is outside 0-23\n' +
        "lumora-keeper: config: api.port: must be a port number 0-65535 (from flag --api-port)",
    );
    assert.equal(exitCodeOf(config), EXIT_USAGE);
  });

  it("prints a data dir in use as one plain line with exit 1", () => {
    const err = new DataDirLockedError("/srv/lumora/data", 4242, "/srv/lumora/data/keeper.lock");
    assert.equal(
      describeError(err, true),
      "lumora-keeper: data dir /srv/lumora/data is in use by keeper pid 4242; stop it first",
    );
    assert.equal(exitCodeOf(err), EXIT_FAILURE);
  });
});
