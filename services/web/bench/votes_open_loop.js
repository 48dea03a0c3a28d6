// Votes under an open-loop overload: k6's constant-arrival-rate executor starts RATE votes a
// second whatever the server answers (a crowd sent by a livestream does not wait for the
// previous voter's answer), each a distinct (voter, entry) pair as in api_votes.lua:
// `POST /api/v1/entries/{id}/votes` with the voter's bearer token (`bt<n>`). Run by
// votes_vs_static.sh; the environment it sets:
//
//   BASE          the server                ENTRIES_FILE  entry ids, one a line
//   VOTERS        voters (tokens bt1…btN)   OFFSET        first request number
//   RATE          votes started a second    DURATION      how long, in seconds
//   MAX_VUS       requests in flight at most (beyond it k6 drops the vote: `dropped`)
//
// It prints one line: RESULT counted=… refused=… overloaded=… failed=… dropped=… p50=… p99=…
// (ms, of the answered requests) seconds=… next=… (one past the highest request number).
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const entries = open(__ENV.ENTRIES_FILE).split('\n').filter((line) => line.length > 0);
const voters = parseInt(__ENV.VOTERS, 10);
const offset = parseInt(__ENV.OFFSET || '0', 10);
const rate = parseInt(__ENV.RATE, 10);
const seconds = parseInt(__ENV.DURATION, 10);

const counted = new Counter('votes_counted');
const refused = new Counter('votes_refused');
const overloaded = new Counter('votes_overloaded');
const failed = new Counter('votes_failed');

export const options = {
    discardResponseBodies: true,
    summaryTrendStats: ['med', 'p(99)'],
    scenarios: {
        overload: {
            executor: 'constant-arrival-rate',
            rate,
            timeUnit: '1s',
            duration: `${seconds}s`,
            preAllocatedVUs: Math.min(200, parseInt(__ENV.MAX_VUS, 10)),
            maxVUs: parseInt(__ENV.MAX_VUS, 10),
            gracefulStop: '15s',
        },
    },
};

export default function () {
    const n = offset + exec.scenario.iterationInTest;
    const voter = (n % voters) + 1;
    const entry = entries[Math.floor(n / voters) % entries.length];
    const res = http.post(`${__ENV.BASE}/api/v1/entries/${entry}/votes`, null, {
        headers: { Authorization: `Bearer bt${voter}` },
        timeout: '15s',
    });
    if (res.status === 201) {
        counted.add(1);
    } else if (res.status === 503) {
        overloaded.add(1);
    } else if (res.status === 0) {
        failed.add(1);
    } else {
        refused.add(1);
    }
}

function count(data, name) {
    const metric = data.metrics[name];
    return metric ? metric.values.count : 0;
}

export function handleSummary(data) {
    const duration = data.metrics.http_req_duration.values;
    const started = count(data, 'iterations') + count(data, 'dropped_iterations');
    const line = `RESULT counted=${count(data, 'votes_counted')} refused=${count(data, 'votes_refused')}`
        + ` overloaded=${count(data, 'votes_overloaded')} failed=${count(data, 'votes_failed')}`
        + ` dropped=${count(data, 'dropped_iterations')} p50=${duration.med.toFixed(1)}`
        + ` p99=${duration['p(99)'].toFixed(1)} seconds=${(data.state.testRunDurationMs / 1000).toFixed(2)}`
        + ` next=${offset + started}\n`;
    return { stdout: line };
}
