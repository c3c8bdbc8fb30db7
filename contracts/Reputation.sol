// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IFlagMirror} from "./interfaces/IFlagMirror.sol";
import {IReputation} from "./interfaces/IReputation.sol";

/// @title Reputation
/// @notice Node health for the Lumora network: per-node score, success and failure counters, failing-epoch
/// streaks and a flag that penalises unreliable nodes (a flagged node cannot claim rewards in RewardPool).
/// @dev The keepers report, per epoch, each node's successes and failures (only nodes that changed). An epoch's
/// reports may span several transactions so that any number of nodes fits under the block gas limit; a node
/// is reported at most once per epoch. The rules live here and are set by the admin:
/// - a node starts at `neutralScore`; every epoch without a report moves the score toward neutral by
///   `decayBps` of the distance (applied lazily, in O(log gap));
/// - a report moves the score toward the epoch's success rate by `learningRateBps` of the distance;
/// - an epoch is failing when `failures * 10_000 > (successes + failures) * failingRateBps`; an idle epoch
///   (nothing reported) only decays the score and leaves the streaks unchanged;
/// - a node is flagged after `flagAfterFailingEpochs` consecutive failing epochs or when its score drops
///   below `flagBelowScore`; an early warning is emitted one failing epoch before the streak limit or when the
///   score drops below `warnBelowScore`;
/// - a flagged node is unflagged after `unflagAfterGoodEpochs` (at least 1) consecutive good epochs with a score
///   of at least `unflagAtScore`.
/// An epoch may be at most {MAX_EPOCH_STEP} ahead of {currentEpoch}: reports can never go back in time, so one
/// mistyped epoch (2^64 - 1, say) would otherwise make every later report revert and freeze all flags for good.
contract Reputation is AccessControl, IReputation {
    // ─────────────────────────────────────────── types ───────────────────────────────────────────

    /// @notice One node's counts for one epoch, decoded (see {encodeReport} for the packed form on the wire).
    /// @param node The node's on-chain address.
    /// @param successes Successful tasks / verified receipts in the epoch.
    /// @param failures Failed tasks / missed heartbeats counted against the node in the epoch.
    struct Report {
        address node;
        uint32 successes;
        uint32 failures;
    }

    /// @notice The rules' parameters (scores and rates in basis points).
    struct Parameters {
        uint16 neutralScore;
        uint16 decayBps;
        uint16 learningRateBps;
        uint16 failingRateBps;
        uint16 flagAfterFailingEpochs;
        uint16 flagBelowScore;
        uint16 warnBelowScore;
        uint16 unflagAfterGoodEpochs;
        uint16 unflagAtScore;
    }

    /// @notice A node's state, as {nodeOf} returns it. Stored as one word per node, packed by {_pack} in this
    /// order from the low bits (16 + 64 + 64 + 16 + 16 + 8 + 64 = 248 bits), so a report reads and writes one slot.
    /// @param score Score in basis points as of `lastEpoch`.
    /// @param successes Cumulative successes.
    /// @param failures Cumulative failures.
    /// @param failStreak Consecutive failing epochs.
    /// @param goodStreak Consecutive good epochs.
    /// @param flagged Whether the node is flagged.
    /// @param lastEpoch Last epoch the node was reported in (0 = never).
    struct Node {
        uint16 score;
        uint64 successes;
        uint64 failures;
        uint16 failStreak;
        uint16 goodStreak;
        bool flagged;
        uint64 lastEpoch;
    }

    /// @notice Why a node was flagged.
    enum FlagReason {
        FailingEpochs,
        LowScore
    }

    /// @notice What a report changed in a node's standing (decides the event emitted besides {NodeReported}).
    enum Transition {
        None,
        Warned,
        Flagged,
        Unflagged
    }

    // ────────────────────────────────────────── constants ─────────────────────────────────────────

    /// @notice Role allowed to apply epoch reports.
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    /// @notice The maximum score (100 %).
    uint256 public constant MAX_SCORE = 10_000;
    /// @notice How far ahead of {currentEpoch} a report's epoch may be. Keepers skip the call for an epoch without
    /// any report, so consecutive calls may be more than one epoch apart; 1024 epochs without a single report
    /// (six weeks of hourly epochs) is far beyond any honest gap and tiny next to 2^64. A longer silence is
    /// crossed with empty calls (`applyReports(epoch, [])`), each at most this far ahead.
    uint256 public constant MAX_EPOCH_STEP = 1024;

    // Bit offsets of a node's fields in its storage word, in {Node}'s order: score (16 bits) · successes (64) ·
    // failures (64) · failStreak (16) · goodStreak (16) · flagged (8) · lastEpoch (64). Hand-packed because the
    // compiler-packed struct costs ~1,100 gas more per reported node (docs/gas.md, "Reputation's node word").
    uint256 private constant _SCORE = 0;
    uint256 private constant _SUCCESSES = 16;
    uint256 private constant _FAILURES = 80;
    uint256 private constant _FAIL_STREAK = 144;
    uint256 private constant _GOOD_STREAK = 160;
    uint256 private constant _FLAGGED = 176;
    uint256 private constant _LAST_EPOCH = 184;

    // ─────────────────────────────────────────── storage ──────────────────────────────────────────

    /// @notice The latest epoch that received reports (0 before the first report).
    uint64 public currentEpoch;

    Parameters private _parameters;
    mapping(address node => uint256 word) private _nodes; // a {Node} packed by {_pack}
    /// @notice Where flag changes are mirrored (the RewardPool, so a claim reads a flag from its own storage instead
    /// of calling this contract); zero until linked by {setFlagMirror}.
    IFlagMirror public flagMirror;

    // ─────────────────────────────────────────── errors ───────────────────────────────────────────

    /// @notice `epoch` is older than the latest reported epoch `current`.
    error ReputationEpochInPast(uint256 epoch, uint256 current);
    /// @notice `epoch` is more than `maxStep` epochs ahead of the latest reported epoch `current`.
    error ReputationEpochTooFar(uint256 epoch, uint256 current, uint256 maxStep);
    /// @notice A cumulative counter of `node` would exceed 64 bits.
    error ReputationCounterOverflow(address node);
    /// @notice Epoch 0 is not a valid epoch.
    error ReputationZeroEpoch();
    /// @notice `node` was already reported for `epoch`.
    error ReputationNodeAlreadyReported(address node, uint256 epoch);
    /// @notice The packed report's last four bytes are not zero.
    error ReputationMalformedReport(bytes32 report);
    /// @notice The zero address cannot be reported.
    error ReputationZeroNode();
    /// @notice The parameters break a rule; `reason` names it.
    error ReputationInvalidParameters(string reason);
    /// @notice The admin address is zero.
    error ReputationZeroAdmin();
    /// @notice The flag mirror is zero, already linked, or linked after reports began (it would miss flags).
    error ReputationFlagMirrorNotLinkable(address mirror);

    // ─────────────────────────────────────────── events ───────────────────────────────────────────

    /// @notice The rules' parameters changed.
    event ParametersUpdated(Parameters parameters);
    /// @notice A node's epoch report was applied (its streaks follow from the successive reports).
    /// @param node The node.
    /// @param epoch The epoch.
    /// @param successes Successes in the epoch.
    /// @param failures Failures in the epoch.
    /// @param score The node's new score.
    event NodeReported(address indexed node, uint256 indexed epoch, uint256 successes, uint256 failures, uint256 score);
    /// @notice Early warning: the node is one failing epoch, or a few points, away from being flagged.
    event NodeWarned(address indexed node, uint256 indexed epoch, uint256 score, uint256 failStreak);
    /// @notice The node was flagged (penalised).
    event NodeFlagged(address indexed node, uint256 indexed epoch, FlagReason reason, uint256 score);
    /// @notice The node recovered and is no longer flagged.
    event NodeUnflagged(address indexed node, uint256 indexed epoch, uint256 score);
    /// @notice The latest reported epoch advanced.
    event EpochStarted(uint256 indexed epoch);
    /// @notice Flag changes are mirrored into `mirror` from now on.
    event FlagMirrorLinked(address indexed mirror);

    // ───────────────────────────────────────── constructor ────────────────────────────────────────

    /// @notice Deploys the contract with `admin` as role admin and the initial rule parameters.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants KEEPER_ROLE, sets parameters).
    /// @param initialParameters Initial parameters (validated like {setParameters}).
    constructor(address admin, Parameters memory initialParameters) {
        if (admin == address(0)) revert ReputationZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setParameters(initialParameters);
    }

    // ─────────────────────────────────────────── external ─────────────────────────────────────────

    /// @notice Applies one batch of an epoch's reports. An epoch may be applied in several batches.
    /// @dev Only KEEPER_ROLE. `epoch` must not be older than {currentEpoch} nor more than {MAX_EPOCH_STEP} ahead of
    /// it; each node at most once per epoch.
    /// Reverts the whole batch if any node was already reported for `epoch`.
    /// @param epoch The epoch the reports belong to.
    /// @param reports The nodes' counts for the epoch, each packed by {encodeReport} (32 bytes a node instead
    /// of 96 for an ABI-encoded struct: calldata is a third of the per-node cost).
    function applyReports(uint64 epoch, bytes32[] calldata reports) external onlyRole(KEEPER_ROLE) {
        if (epoch == 0) revert ReputationZeroEpoch();
        uint64 current = currentEpoch;
        if (epoch < current) revert ReputationEpochInPast(epoch, current);
        if (epoch - current > MAX_EPOCH_STEP) revert ReputationEpochTooFar(epoch, current, MAX_EPOCH_STEP);
        if (epoch > current) {
            currentEpoch = epoch;
            emit EpochStarted(epoch);
        }
        Parameters memory p = _parameters;
        IFlagMirror mirror = flagMirror;
        for (uint256 i = 0; i < reports.length; ++i) {
            _applyReport(epoch, reports[i], p, mirror);
        }
    }

    /// @notice Replaces the rules' parameters. Takes effect from the next applied report.
    /// @dev Only DEFAULT_ADMIN_ROLE.
    /// @param newParameters The new parameters.
    function setParameters(Parameters calldata newParameters) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParameters(newParameters);
    }

    /// @notice Links the contract that mirrors the flags (the RewardPool): every later flag change is pushed to it.
    /// @dev Only DEFAULT_ADMIN_ROLE, once, and before the first report, so the mirror never misses a flag (the
    /// deployment links it right after deploying the pool; ignition/modules/Lumora.ts).
    /// @param mirror The mirror.
    function setFlagMirror(IFlagMirror mirror) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(mirror) == address(0) || address(flagMirror) != address(0) || currentEpoch != 0) {
            revert ReputationFlagMirrorNotLinkable(address(mirror));
        }
        flagMirror = mirror;
        emit FlagMirrorLinked(address(mirror));
        mirror.onFlagMirrorLinked();
    }

    /// @notice Packs one report for {applyReports}: `node` (20 bytes) · `successes` (4) · `failures` (4) ·
    /// 4 zero bytes, big-endian.
    /// @param report The decoded report.
    /// @return The packed report.
    function encodeReport(Report calldata report) external pure returns (bytes32) {
        return
            bytes32(
                (uint256(uint160(report.node)) << 96) |
                    (uint256(report.successes) << 64) |
                    (uint256(report.failures) << 32)
            );
    }

    /// @notice Unpacks a report built by {encodeReport}.
    /// @param packed The packed report.
    /// @return The decoded report.
    function decodeReport(bytes32 packed) external pure returns (Report memory) {
        return
            Report({
                node: address(bytes20(packed)),
                successes: uint32(uint256(packed) >> 64),
                failures: uint32(uint256(packed) >> 32)
            });
    }

    /// @notice The rules' parameters.
    /// @return The current parameters.
    function parameters() external view returns (Parameters memory) {
        return _parameters;
    }

    /// @notice A node's stored state (score as of its last reported epoch, without pending decay).
    /// @param node The node.
    /// @return The stored state; all zero for a node never reported.
    function nodeOf(address node) external view returns (Node memory) {
        return _unpack(_nodes[node]);
    }

    /// @inheritdoc IReputation
    function scoreOf(address node) external view returns (uint256) {
        Node memory n = _unpack(_nodes[node]);
        Parameters memory p = _parameters;
        if (n.lastEpoch == 0) return p.neutralScore;
        return _decayed(n.score, currentEpoch - n.lastEpoch, p);
    }

    /// @inheritdoc IReputation
    function isFlagged(address node) external view returns (bool) {
        return (_nodes[node] >> _FLAGGED) & 1 == 1;
    }

    // ─────────────────────────────────────────── internal ─────────────────────────────────────────

    /// @dev One node's report: decode it, learn the score, count the streaks, judge the flag, store, emit.
    function _applyReport(uint64 epoch, bytes32 packed, Parameters memory p, IFlagMirror mirror) internal {
        (address node, uint256 successes, uint256 failures) = _decodeReport(packed);
        uint256 word = _nodes[node];
        uint256 lastEpoch = uint64(word >> _LAST_EPOCH);
        if (lastEpoch == epoch) revert ReputationNodeAlreadyReported(node, epoch);

        (uint256 score, bool failing) = _learn(uint16(word >> _SCORE), lastEpoch, epoch, successes, failures, p);
        (uint256 failStreak, uint256 goodStreak) = _countStreaks(
            uint16(word >> _FAIL_STREAK),
            uint16(word >> _GOOD_STREAK),
            failing,
            successes + failures != 0
        );
        (bool flagged, Transition transition, FlagReason reason) = _judge(
            (word >> _FLAGGED) & 1 == 1,
            score,
            failStreak,
            goodStreak,
            p
        );
        // 2^64 reports of at most 2^32 each cannot overflow the cumulative counters; the check guards it anyway.
        uint256 cumulativeSuccesses = uint64(word >> _SUCCESSES) + successes;
        uint256 cumulativeFailures = uint64(word >> _FAILURES) + failures;
        if (cumulativeSuccesses > type(uint64).max || cumulativeFailures > type(uint64).max) {
            revert ReputationCounterOverflow(node);
        }
        _nodes[node] = _pack(score, cumulativeSuccesses, cumulativeFailures, failStreak, goodStreak, flagged, epoch);

        emit NodeReported(node, epoch, successes, failures, score);
        if (transition == Transition.Warned) {
            emit NodeWarned(node, epoch, score, failStreak);
        } else if (transition == Transition.Flagged) {
            emit NodeFlagged(node, epoch, reason, score);
            if (address(mirror) != address(0)) mirror.setFlagged(node, true);
        } else if (transition == Transition.Unflagged) {
            emit NodeUnflagged(node, epoch, score);
            if (address(mirror) != address(0)) mirror.setFlagged(node, false);
        }
    }

    /// @dev Checks and unpacks a report built by {encodeReport}.
    function _decodeReport(bytes32 packed) internal pure returns (address node, uint256 successes, uint256 failures) {
        if (uint32(uint256(packed)) != 0) revert ReputationMalformedReport(packed);
        node = address(bytes20(packed));
        if (node == address(0)) revert ReputationZeroNode();
        successes = uint32(uint256(packed) >> 64);
        failures = uint32(uint256(packed) >> 32);
    }

    /// @dev Decays the score toward neutral for the epochs the node was not reported in, then moves it toward this
    /// epoch's success rate (an idle epoch only decays it). Returns the new score and whether the epoch is failing.
    function _learn(
        uint256 score,
        uint256 lastEpoch,
        uint256 epoch,
        uint256 successes,
        uint256 failures,
        Parameters memory p
    ) internal pure returns (uint256, bool failing) {
        if (lastEpoch == 0) score = p.neutralScore;
        else if (epoch - lastEpoch > 1) score = _decayed(score, epoch - lastEpoch - 1, p);
        uint256 total = successes + failures;
        if (total == 0) return (_decayed(score, 1, p), false);
        uint256 target = (successes * MAX_SCORE) / total;
        score =
            target >= score
                ? score + ((target - score) * p.learningRateBps) / MAX_SCORE
                : score - ((score - target) * p.learningRateBps) / MAX_SCORE;
        failing = failures * MAX_SCORE > total * p.failingRateBps;
        return (score, failing);
    }

    /// @dev Streaks saturate instead of overflowing. An idle epoch (`active` false: no successes, no failures) is
    /// neither good nor failing: it leaves both streaks as they are, so a flagged node cannot recover by doing
    /// nothing.
    function _countStreaks(
        uint256 failStreak,
        uint256 goodStreak,
        bool failing,
        bool active
    ) internal pure returns (uint256, uint256) {
        if (failing) return (failStreak < type(uint16).max ? failStreak + 1 : failStreak, 0);
        if (active) return (0, goodStreak < type(uint16).max ? goodStreak + 1 : goodStreak);
        return (failStreak, goodStreak);
    }

    /// @dev Flags, warns or unflags the node by the rules; returns its new flag and what changed.
    function _judge(
        bool flagged,
        uint256 score,
        uint256 failStreak,
        uint256 goodStreak,
        Parameters memory p
    ) internal pure returns (bool, Transition, FlagReason) {
        if (flagged) {
            if (goodStreak >= p.unflagAfterGoodEpochs && score >= p.unflagAtScore) {
                return (false, Transition.Unflagged, FlagReason.FailingEpochs);
            }
            return (true, Transition.None, FlagReason.FailingEpochs);
        }
        if (failStreak >= p.flagAfterFailingEpochs) return (true, Transition.Flagged, FlagReason.FailingEpochs);
        if (score < p.flagBelowScore) return (true, Transition.Flagged, FlagReason.LowScore);
        bool warned =
            (p.flagAfterFailingEpochs > 1 && failStreak == p.flagAfterFailingEpochs - 1) || score < p.warnBelowScore;
        return (false, warned ? Transition.Warned : Transition.None, FlagReason.FailingEpochs);
    }

    /// @dev Packs a node into its storage word: the one place besides the field offsets ({_SCORE} … {_LAST_EPOCH})
    /// that knows the layout. Every value fits its field: the score is at most MAX_SCORE, the streaks saturate at
    /// 2^16 - 1, the counters were checked against 2^64 and the epoch is a uint64.
    function _pack(
        uint256 score,
        uint256 successes,
        uint256 failures,
        uint256 failStreak,
        uint256 goodStreak,
        bool flagged,
        uint256 lastEpoch
    ) internal pure returns (uint256) {
        return
            (score << _SCORE) |
            (successes << _SUCCESSES) |
            (failures << _FAILURES) |
            (failStreak << _FAIL_STREAK) |
            (goodStreak << _GOOD_STREAK) |
            (flagged ? uint256(1) << _FLAGGED : 0) |
            (lastEpoch << _LAST_EPOCH);
    }

    /// @dev Unpacks a node's storage word (views only).
    function _unpack(uint256 word) internal pure returns (Node memory n) {
        n.score = uint16(word >> _SCORE);
        n.successes = uint64(word >> _SUCCESSES);
        n.failures = uint64(word >> _FAILURES);
        n.failStreak = uint16(word >> _FAIL_STREAK);
        n.goodStreak = uint16(word >> _GOOD_STREAK);
        n.flagged = (word >> _FLAGGED) & 1 == 1;
        n.lastEpoch = uint64(word >> _LAST_EPOCH);
    }

    /// @dev `neutral + (score - neutral) * (1 - decay)^epochs`, with the power by repeated squaring in 1e18.
    function _decayed(uint256 score, uint256 epochs, Parameters memory p) internal pure returns (uint256) {
        uint256 neutral = p.neutralScore;
        if (epochs == 0 || score == neutral) return score;
        uint256 factor = 1e18;
        uint256 base = ((MAX_SCORE - p.decayBps) * 1e18) / MAX_SCORE;
        while (epochs > 0 && factor > 0) {
            if (epochs & 1 == 1) factor = (factor * base) / 1e18;
            base = (base * base) / 1e18;
            epochs >>= 1;
        }
        return
            score > neutral
                ? neutral + ((score - neutral) * factor) / 1e18
                : neutral - ((neutral - score) * factor) / 1e18;
    }

    function _setParameters(Parameters memory p) internal {
        if (p.neutralScore > MAX_SCORE || p.warnBelowScore > MAX_SCORE || p.unflagAtScore > MAX_SCORE) {
            revert ReputationInvalidParameters("score above 10000");
        }
        if (p.decayBps > MAX_SCORE || p.failingRateBps > MAX_SCORE)
            revert ReputationInvalidParameters("rate above 10000");
        if (p.learningRateBps == 0 || p.learningRateBps > MAX_SCORE) {
            revert ReputationInvalidParameters("learning rate not in 1..10000");
        }
        if (p.flagAfterFailingEpochs == 0) revert ReputationInvalidParameters("flagAfterFailingEpochs is zero");
        // Zero would unflag a flagged node on any epoch that merely keeps its score up, good streak or not.
        if (p.unflagAfterGoodEpochs == 0) revert ReputationInvalidParameters("unflagAfterGoodEpochs is zero");
        if (p.warnBelowScore < p.flagBelowScore) revert ReputationInvalidParameters("warnBelowScore < flagBelowScore");
        if (p.unflagAtScore < p.flagBelowScore) revert ReputationInvalidParameters("unflagAtScore < flagBelowScore");
        if (p.neutralScore < p.flagBelowScore) revert ReputationInvalidParameters("neutralScore < flagBelowScore");
        _parameters = p;
        emit ParametersUpdated(p);
    }
}
