import { createRequire } from "node:module";

import hardhatToolboxMochaEthersPlugin from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

import { lumoraTasks } from "./tasks/index.ts";

// The compiler comes from the npm `solc` package: the compiler download host is unreachable
// here and in CI, so a compile must never try to download. `solc` is pinned to exactly this version.
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.30";
const solcPath = require.resolve("solc/soljson.js");
// Storage layouts land in the build info so that test/contracts/StorageLayout.test.ts can pin them.
const settings = {
  optimizer: { enabled: true, runs: 10_000 },
  evmVersion: "cancun",
  viaIR: true,
  outputSelection: { "*": { "*": ["storageLayout"] } },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthersPlugin],
  tasks: lumoraTasks,
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: solcPath,
        settings,
      },
      production: {
        version: SOLC_VERSION,
        path: solcPath,
        settings,
      },
    },
  },
  paths: {
    tests: { mocha: "test/contracts" },
  },
  // Explorer verification on Amoy (`npx hardhat ignition verify chain-80002`): the key is a configuration
  // variable (keystore or environment), read only when a verification runs.
  verify: {
    etherscan: { apiKey: configVariable("ETHERSCAN_API_KEY") },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
    amoy: {
      type: "http",
      chainType: "l1",
      chainId: 80002,
      url: configVariable("AMOY_RPC_URL"),
      accounts: [configVariable("AMOY_PRIVATE_KEY")],
    },
  },
});
