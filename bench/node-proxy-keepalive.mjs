// bench/node-proxy.mjs with its connections to Orthanc reused (bench/lib/keepalive-proxy.mjs).
import { startKeepAliveProxy } from './lib/keepalive-proxy.mjs';

startKeepAliveProxy({ rewrite: false });
