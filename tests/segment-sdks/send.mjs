// Sends group calls through a real Segment-spec SDK and waits until the SDK has delivered (or given up on) all of
// them. Driven by SegmentSdkTests.cs: argv[2] is a JSON spec
//   { "sdk": "segment" | "rudder", "host": "http://127.0.0.1:PORT", "writeKey": "...", "calls": [ {group params} ] }
// Each call is passed to the SDK's group() as it is (userId, groupId, traits, timestamp, messageId). Prints one JSON
// line { "sent": n, "errors": [...] } and exits 0 when the SDK reported no delivery error, 1 otherwise.
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';

const spec = JSON.parse(process.argv[2]);
const errors = [];

async function viaSegment() {
  const analytics = new Analytics({
    writeKey: spec.writeKey,
    host: spec.host,
    path: '/v1/batch',
    flushAt: spec.flushAt ?? 20,
    flushInterval: 200,
    maxRetries: 6,
  });
  analytics.on('error', (err) => errors.push(String(err?.reason ?? err?.message ?? err)));
  for (const call of spec.calls) {
    analytics.group({ ...call, timestamp: call.timestamp ? new Date(call.timestamp) : undefined });
  }
  await analytics.closeAndFlush({ timeout: 60000 });
}

async function viaRudder() {
  const client = new RudderAnalytics(spec.writeKey, {
    dataPlaneUrl: spec.host,
    flushAt: spec.flushAt ?? 20,
    flushInterval: 200,
    retryCount: 6,
    logLevel: 'error',
    errorHandler: (err) => errors.push(String(err?.response?.status ?? err?.message ?? err)),
  });
  for (const call of spec.calls) {
    client.group({ ...call, timestamp: call.timestamp ? new Date(call.timestamp) : undefined });
  }
  await client.flush();
}

try {
  await (spec.sdk === 'rudder' ? viaRudder() : viaSegment());
} catch (err) {
  errors.push(String(err?.message ?? err));
}

console.log(JSON.stringify({ sent: spec.calls.length, errors }));
process.exit(errors.length === 0 ? 0 : 1);
