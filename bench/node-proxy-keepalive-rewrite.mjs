// The keep-alive bare proxy plus the gateway's URL rewrite of JSON answers (bench/lib/keepalive-proxy.mjs).
import { startKeepAliveProxy } from './lib/keepalive-proxy.mjs';

startKeepAliveProxy({ rewrite: true });
