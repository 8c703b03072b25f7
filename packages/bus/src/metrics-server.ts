import { createServer, type Server } from "node:http";
import { ShoalError } from "@shoal/base";
import type { Registry } from "prom-client";
import { BusErrorCode } from "./errors.js";
import { formatHostPort, type HostPort } from "./nats-config.js";

/** `GET /metrics` in Prometheus' text format (the daemon's `--metrics-addr`). */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly address: HostPort,
  ) {}

  static async open(address: HostPort, registry: Registry): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
        res.writeHead(404).end("not found: only GET /metrics\n");
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) =>
        reject(
          new ShoalError(
            BusErrorCode.MetricsListenFailed,
            `metrics address ${formatHostPort(address)} cannot be bound`,
            {
              cause: err,
              hint: "choose a free address for --metrics-addr",
            },
          ),
        ),
      );
      server.listen(address.port, address.host, () => resolve());
    });
    const bound = server.address() as { port: number };
    return new MetricsServer(server, { host: address.host, port: bound.port });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
