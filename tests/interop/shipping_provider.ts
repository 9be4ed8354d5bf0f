// A shipping-rates provider written in TypeScript from the generated code: an
// ecom.spi.shipping_rates.v1.ShippingRatesProviderService served by @connectrpc/connect-node over
// plaintext HTTP/2 (h2c) with the gRPC protocol, which is how the suite calls providers.
//
// It offers two flat-rate delivery options in the request's currency, "ts-standard" and
// "ts-express" (prices configurable), and follows the SPI's contract
// (proto/ecom/spi/shipping_rates/v1/shipping_rates_provider_service.proto):
// - no line items (the suite's health probe, as this server has no grpc.health.v1.Health):
//   succeed with no rates;
// - no line that ships, or no destination yet: no rates (delivery options need both; this
//   provider has no pickup);
// - `currency` and `weight_unit` are required: INVALID_ARGUMENT without them;
// - every cost is in the request's currency, codes are unique and stable, titles non-empty;
// - side-effect free: it only counts the calls it served, per site (`x-ecom-site`), so a test
//   can prove the suite called it.
//
// Run alone (`node .build/interop/tests/interop/shipping_provider.js`) it prints its address and
// serves until SIGINT/SIGTERM; purchase.ts starts it in-process with startShippingProvider().
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { WeightUnit } from "../../gen/ts/ecom/common/v1/channel_pb.js";
import {
  type GetShippingRatesRequest,
  type GetShippingRatesResponse,
  GetShippingRatesResponseSchema,
  ShippingRatesProviderService,
} from "../../gen/ts/ecom/spi/shipping_rates/v1/shipping_rates_provider_service_pb.js";

export interface RateOffer {
  code: string;
  title: string;
  price: string; // a decimal string, in whatever currency the suite asks for
  deliveryTime: string;
}

export const DEFAULT_OFFERS: readonly RateOffer[] = [
  { code: "ts-standard", title: "TS Standard", price: "7.00", deliveryTime: "3-5 business days" },
  { code: "ts-express", title: "TS Express", price: "19.00", deliveryTime: "1-2 business days" },
];

/** What the provider saw; the purchase script prints it and the test asserts on it. */
export interface ProviderStats {
  calls: number; // every GetShippingRates served, health probes included
  quotes: number; // calls that returned rates (lines that ship and a destination)
  probes: number; // calls without line items
  rejected: number; // calls answered with an error
  sites: Record<string, number>; // calls per `x-ecom-site`
  appIds: string[]; // distinct `x-ecom-app-id` values
  callers: string[]; // distinct `x-ecom-caller` values
  currencies: string[]; // distinct request currencies
  preferredCodes: string[]; // distinct non-empty `preferred_shipping_option_code` values
}

export interface RunningProvider {
  /** "127.0.0.1:<port>": what to register as the provider's `target`. */
  address: string;
  stats: ProviderStats;
  close(): Promise<void>;
}

const CURRENCY = /^[A-Z]{3}$/;
const DECIMAL = /^\d+(\.\d+)?$/;

function addDistinct(list: string[], value: string): void {
  if (value !== "" && !list.includes(value)) list.push(value);
}

export function quote(request: GetShippingRatesRequest, offers: readonly RateOffer[]): GetShippingRatesResponse {
  if (!CURRENCY.test(request.currency)) {
    throw new ConnectError(`currency: ${JSON.stringify(request.currency)} is not an ISO 4217 code`, Code.InvalidArgument);
  }
  if (request.weightUnit !== WeightUnit.KG && request.weightUnit !== WeightUnit.LB) {
    throw new ConnectError(`weight_unit: must be KG or LB, got ${request.weightUnit}`, Code.InvalidArgument);
  }
  const ships = request.lineItems.some((line) => line.physicalProperties?.shippable === true);
  const destination = request.shippingDestination;
  if (!ships || destination === undefined || destination.country === "") {
    return create(GetShippingRatesResponseSchema, { shippingRates: [] });
  }
  return create(GetShippingRatesResponseSchema, {
    shippingRates: offers.map((offer) => ({
      code: offer.code,
      title: offer.title,
      logistics: { deliveryTime: offer.deliveryTime },
      cost: { price: offer.price, currency: request.currency },
    })),
  });
}

function routes(stats: ProviderStats, offers: readonly RateOffer[]): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ShippingRatesProviderService, {
      getShippingRates(request: GetShippingRatesRequest, context: HandlerContext): GetShippingRatesResponse {
        const header = context.requestHeader;
        const site = header.get("x-ecom-site") ?? "";
        stats.calls += 1;
        stats.sites[site] = (stats.sites[site] ?? 0) + 1;
        addDistinct(stats.appIds, header.get("x-ecom-app-id") ?? "");
        addDistinct(stats.callers, header.get("x-ecom-caller") ?? "");
        addDistinct(stats.currencies, request.currency);
        addDistinct(stats.preferredCodes, request.preferredShippingOptionCode);
        if (request.lineItems.length === 0) stats.probes += 1;
        try {
          const answer = quote(request, offers);
          if (answer.shippingRates.length > 0) stats.quotes += 1;
          return answer;
        } catch (error) {
          stats.rejected += 1;
          throw error;
        }
      },
    });
  };
}

/** Starts the provider on 127.0.0.1 (port 0: any free port). */
export async function startShippingProvider(
  options: { port?: number; offers?: readonly RateOffer[] } = {},
): Promise<RunningProvider> {
  const offers = options.offers ?? DEFAULT_OFFERS;
  for (const offer of offers) {
    if (!DECIMAL.test(offer.price)) throw new Error(`rate ${offer.code}: price ${offer.price} is not a decimal`);
  }
  const stats: ProviderStats = {
    calls: 0,
    quotes: 0,
    probes: 0,
    rejected: 0,
    sites: {},
    appIds: [],
    callers: [],
    currencies: [],
    preferredCodes: [],
  };
  // Only the gRPC protocol: the suite speaks nothing else, and a provider should not offer more
  // surface than it needs.
  const handler = connectNodeAdapter({ routes: routes(stats, offers), grpc: true, grpcWeb: false, connect: false });
  const server = http2.createServer(handler);
  // The suite keeps its channel to a provider open; close() must end those sessions itself or
  // server.close() would wait for them forever.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.close();
      }),
  };
}

async function serveForever(): Promise<void> {
  const port = Number(process.argv[2] ?? "0");
  const provider = await startShippingProvider({ port });
  process.stdout.write(`ts shipping provider listening on ${provider.address}\n`);
  const stop = (): void => {
    void provider.close().then(() => process.stdout.write(`${JSON.stringify(provider.stats)}\n`));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await serveForever();
}
