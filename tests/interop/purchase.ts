// A whole purchase against a running suite (`ecom serve`) through the generated TypeScript client,
// with the shipping rates coming from a provider written in TypeScript (shipping_provider.ts):
//
//   start the TS provider -> ProviderRegistryService.RegisterProvider (admin) -> CheckProvider
//   -> CurrentCartService.AddToCurrentCart -> CreateCheckoutFromCurrentCart (WEB)
//   -> CheckoutService.UpdateCheckout (email, shipping destination, billing address)
//   -> UpdateCheckout (select ts-shipping / ts-express) -> CheckoutService.CreateOrder
//   -> OrdersService.GetOrder (as the buyer); at the end, whatever happened, DeleteProvider of
//   the registration it made (the provider stops with the script).
//
// Usage (after `tsc -p tests/interop`):
//   ECOM_INTEROP_ADMIN_TOKEN=... ECOM_INTEROP_VISITOR_TOKEN=... \
//     node .build/interop/tests/interop/purchase.js --target 127.0.0.1:50051
// Options: --admin-token / --visitor-token (instead of the environment; the environment keeps them
// out of `ps`), --product (a demo catalog product without variants; default canvas-tote),
// --quantity (default 2), --app-id (default ts-shipping), --provider-timeout-ms (the
// registration's `timeout`, how long the suite waits for the TS provider; default 10000, above
// the suite's 2 s default so a busy machine does not turn into PROVIDER_TIMEOUT), --timeout-s
// (whole run, default 90).
//
// Prints exactly one JSON line on stdout: {"ok": true, ...} with the order, its totals, the
// selected shipping option and what the TS provider saw; or {"ok": false, "step", "error":
// {code, message, details}} and exit status 1 when a call fails or the suite answers something
// the contract rules out (exit status 2 on bad usage).
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { type DescService } from "@bufbuild/protobuf";
import { type CallOptions, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CurrentCartService } from "../../gen/ts/ecom/cart/v1/current_cart_service_pb.js";
import type { Checkout } from "../../gen/ts/ecom/checkout/v1/checkout_pb.js";
import { CheckoutService } from "../../gen/ts/ecom/checkout/v1/checkout_service_pb.js";
import type { AddressWithContact } from "../../gen/ts/ecom/common/v1/address_pb.js";
import { ChannelType } from "../../gen/ts/ecom/common/v1/channel_pb.js";
import type { Price } from "../../gen/ts/ecom/common/v1/money_pb.js";
import type { PriceSummary } from "../../gen/ts/ecom/common/v1/pricing_pb.js";
import { OrderStatus, PaymentStatus } from "../../gen/ts/ecom/orders/v1/order_pb.js";
import { OrdersService } from "../../gen/ts/ecom/orders/v1/orders_service_pb.js";
import { ProviderHealth, ProviderKind } from "../../gen/ts/ecom/providers/v1/provider_pb.js";
import { ProviderRegistryService } from "../../gen/ts/ecom/providers/v1/provider_registry_service_pb.js";
import { describeFailure, type JsonValue } from "./rpc_errors.js";
import { type RunningProvider, startShippingProvider } from "./shipping_provider.js";

const CATALOG_APP_ID = "ecom.catalog"; // the reference catalog's app id (services/providers/catalog)
const EXPRESS = "ts-express";
const CALL_TIMEOUT_MS = 20_000;
// The registry promises that changes reach new calculations within 5 s (each process caches the
// provider list briefly), so the selection is retried, on that condition only, for a bit longer.
const REGISTRY_PROPAGATION_MS = 8_000;

class StepFailure extends Error {
  constructor(
    readonly step: string,
    readonly error: JsonValue,
  ) {
    super(`${step} failed`);
  }
}

/** Something the suite answered that its contract rules out: not a gRPC error, still a failure. */
class ContractViolation extends Error {
  constructor(
    message: string,
    readonly evidence: JsonValue = null,
  ) {
    super(message);
  }
}

interface Options {
  target: string;
  adminToken: string;
  visitorToken: string;
  product: string;
  quantity: number;
  appId: string;
  providerTimeoutMs: number;
  timeoutS: number;
}

function usage(message: string): never {
  process.stderr.write(`purchase: ${message}\n`);
  process.stdout.write(`${JSON.stringify({ ok: false, step: "usage", error: { code: "USAGE", message, details: [] } })}\n`);
  process.exit(2);
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      "admin-token": { type: "string" },
      "visitor-token": { type: "string" },
      product: { type: "string", default: "canvas-tote" },
      quantity: { type: "string", default: "2" },
      "app-id": { type: "string", default: "ts-shipping" },
      "provider-timeout-ms": { type: "string", default: "10000" },
      "timeout-s": { type: "string", default: "90" },
    },
    strict: true,
  });
  const target = values.target ?? process.env.ECOM_INTEROP_TARGET ?? "";
  const adminToken = values["admin-token"] ?? process.env.ECOM_INTEROP_ADMIN_TOKEN ?? "";
  const visitorToken = values["visitor-token"] ?? process.env.ECOM_INTEROP_VISITOR_TOKEN ?? "";
  if (!/^[^\s/]+:\d+$/.test(target)) usage(`--target host:port required, got ${JSON.stringify(target)}`);
  if (adminToken === "") usage("an admin token is required (ECOM_INTEROP_ADMIN_TOKEN or --admin-token)");
  if (visitorToken === "") usage("a visitor token is required (ECOM_INTEROP_VISITOR_TOKEN or --visitor-token)");
  const quantity = Number(values.quantity);
  const timeoutS = Number(values["timeout-s"]);
  const providerTimeoutMs = Number(values["provider-timeout-ms"]);
  if (!Number.isInteger(quantity) || quantity < 1) usage(`--quantity must be a positive integer`);
  if (!(timeoutS > 0)) usage(`--timeout-s must be positive`);
  // The registry accepts 0..30 s.
  if (!Number.isInteger(providerTimeoutMs) || providerTimeoutMs < 1 || providerTimeoutMs > 30_000) {
    usage(`--provider-timeout-ms must be an integer in 1..30000`);
  }
  return {
    target,
    adminToken,
    visitorToken,
    product: values.product ?? "canvas-tote",
    quantity,
    appId: values["app-id"] ?? "ts-shipping",
    providerTimeoutMs,
    timeoutS,
  };
}

/** Runs one RPC; a failure becomes a StepFailure naming the step, with the decoded status. */
async function step<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    if (cause instanceof StepFailure) throw cause;
    throw new StepFailure(name, describeFailure(cause));
  }
}

function amount(price: Price | undefined): string {
  return price?.amount ?? "";
}

function summary(prices: PriceSummary | undefined): Record<string, string> {
  return {
    subtotal: amount(prices?.subtotal),
    shipping: amount(prices?.shipping),
    tax: amount(prices?.tax),
    discount: amount(prices?.discount),
    additional_fees: amount(prices?.additionalFees),
    total: amount(prices?.total),
  };
}

function offered(checkout: Checkout): Record<string, string[]> {
  const byCarrier: Record<string, string[]> = {};
  for (const carrier of checkout.shippingInfo?.carrierServiceOptions ?? []) {
    byCarrier[carrier.carrierId] = carrier.shippingOptions.map((o) => `${o.code}=${amount(o.cost?.price)}`);
  }
  return byCarrier;
}

function calculationErrors(checkout: Checkout): JsonValue {
  const errors = checkout.calculationErrors;
  if (errors === undefined) return null;
  return JSON.parse(JSON.stringify(errors, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value))) as JsonValue;
}

function selection(checkout: Checkout): Record<string, JsonValue> {
  const selected = checkout.shippingInfo?.selectedCarrierServiceOption;
  return {
    carrier_id: selected?.carrierId ?? "",
    code: selected?.code ?? "",
    title: selected?.title ?? "",
    requested_shipping_option: selected?.requestedShippingOption ?? false,
    price: amount(selected?.cost?.price),
    total_price_before_tax: amount(selected?.cost?.totalPriceBeforeTax),
    total_price_after_tax: amount(selected?.cost?.totalPriceAfterTax),
  };
}

const ADDRESS: AddressWithContact = {
  $typeName: "ecom.common.v1.AddressWithContact",
  address: {
    $typeName: "ecom.common.v1.Address",
    country: "US",
    subdivision: "US-NY",
    city: "New York",
    postalCode: "10001",
    addressLine: "350 Fifth Avenue",
    addressLine2: "Floor 21",
  },
  contactDetails: {
    $typeName: "ecom.common.v1.ContactDetails",
    firstName: "Ada",
    lastName: "Lovelace",
    phone: "+12125550100",
    company: "",
    vatId: "",
  },
};

interface Suite {
  registry: Client<typeof ProviderRegistryService>;
  currentCart: Client<typeof CurrentCartService>;
  checkouts: Client<typeof CheckoutService>;
  orders: Client<typeof OrdersService>;
  admin: CallOptions;
  buyer: CallOptions;
}

function connect(options: Options, session: Http2SessionManager): Suite {
  // gRPC over HTTP/2 (createGrpcTransport has no httpVersion option in connect-node 2: it is
  // always HTTP/2), plaintext like `ecom serve`, one shared session for every call.
  const transport = createGrpcTransport({ baseUrl: `http://${options.target}`, sessionManager: session });
  const as = (token: string): CallOptions => ({
    headers: { authorization: `Bearer ${token}` },
    timeoutMs: CALL_TIMEOUT_MS,
  });
  const client = <S extends DescService>(service: S): Client<S> => createClient(service, transport);
  return {
    registry: client(ProviderRegistryService),
    currentCart: client(CurrentCartService),
    checkouts: client(CheckoutService),
    orders: client(OrdersService),
    admin: as(options.adminToken),
    buyer: as(options.visitorToken),
  };
}

/** What has to be undone when the run ends, whatever happened. */
interface Cleanup {
  registrationId: string;
}

async function purchase(options: Options, provider: RunningProvider, suite: Suite, cleanup: Cleanup) {
  const { registry, currentCart, checkouts, orders, admin, buyer } = suite;

  // 1. The TS provider joins the suite through the registry, and the suite can reach it.
  const registered = await step("RegisterProvider", () =>
    registry.registerProvider(
      {
        provider: {
          kind: ProviderKind.SHIPPING_RATES,
          appId: options.appId,
          target: provider.address,
          timeout: {
            seconds: BigInt(Math.floor(options.providerTimeoutMs / 1000)),
            nanos: (options.providerTimeoutMs % 1000) * 1_000_000,
          },
        },
        requestId: randomUUID(),
      },
      admin,
    ),
  );
  const registration = registered.provider;
  if (registration === undefined || registration.id === "") throw new ContractViolation("RegisterProvider returned no provider id");
  cleanup.registrationId = registration.id;
  const checked = await step("CheckProvider", () => registry.checkProvider({ id: registration.id }, admin));
  if (checked.health !== ProviderHealth.SERVING) {
    throw new ContractViolation(`CheckProvider: the TS provider is ${ProviderHealth[checked.health]}`, {
      error_message: checked.errorMessage,
      probe: checked.probe,
    });
  }

  // 2. The buyer's current cart, and a checkout from it.
  const added = await step("AddToCurrentCart", () =>
    currentCart.addToCurrentCart(
      {
        lineItems: [
          {
            quantity: options.quantity,
            catalogReference: { catalogItemId: options.product, appId: CATALOG_APP_ID },
          },
        ],
        requestId: randomUUID(),
      },
      buyer,
    ),
  );
  const cart = added.cart;
  if (cart === undefined || cart.lineItems.length !== 1) {
    throw new ContractViolation("AddToCurrentCart: expected a cart with the one line added", { lines: cart?.lineItems.length ?? 0 });
  }
  const created = await step("CreateCheckoutFromCurrentCart", () =>
    currentCart.createCheckoutFromCurrentCart({ channelType: ChannelType.WEB, requestId: randomUUID() }, buyer),
  );
  const checkoutId = created.checkoutId;

  // 3. Who buys and where it goes.
  const detailed = await step("UpdateCheckout(addresses)", () =>
    checkouts.updateCheckout(
      {
        checkout: {
          id: checkoutId,
          buyerInfo: { email: "ada@example.com" },
          billingInfo: ADDRESS,
          shippingInfo: { shippingDestination: ADDRESS },
        },
        updateMask: { paths: ["buyer_info.email", "billing_info", "shipping_info.shipping_destination"] },
      },
      buyer,
    ),
  );
  let checkout = detailed.checkout;
  if (checkout === undefined) throw new ContractViolation("UpdateCheckout returned no checkout");

  // 4. The TS provider's express option. Until the registration has reached the checkout's
  // provider list (within 5 s by contract) the suite picks another carrier's option instead.
  const deadline = Date.now() + REGISTRY_PROPAGATION_MS;
  for (;;) {
    const selected = await step("UpdateCheckout(shipping option)", () =>
      checkouts.updateCheckout(
        {
          checkout: {
            id: checkoutId,
            shippingInfo: { selectedCarrierServiceOption: { carrierId: options.appId, code: EXPRESS } },
          },
          updateMask: { paths: ["shipping_info.selected_carrier_service_option"] },
        },
        buyer,
      ),
    );
    if (selected.checkout === undefined) throw new ContractViolation("UpdateCheckout returned no checkout");
    checkout = selected.checkout;
    const option = checkout.shippingInfo?.selectedCarrierServiceOption;
    if (option?.carrierId === options.appId && option.code === EXPRESS) break;
    const ours = offered(checkout)[options.appId];
    if (ours !== undefined || Date.now() > deadline) {
      // Offered but not selected, or never offered: either way the suite did not do what the
      // contract says, so report what it shows.
      throw new ContractViolation(`UpdateCheckout: ${options.appId}/${EXPRESS} is not the selected option`, {
        selected: selection(checkout),
        offered: offered(checkout),
        calculation_errors: calculationErrors(checkout),
        provider_calls: provider.stats.calls,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const confirmed = checkout;

  // 5. The order, at the total the buyer saw.
  const placed = await step("CreateOrder", () =>
    checkouts.createOrder(
      {
        id: checkoutId,
        revision: confirmed.revision,
        expectedTotal: amount(confirmed.priceSummary?.total),
        requestId: randomUUID(),
      },
      buyer,
    ),
  );
  if (placed.orderId === "") throw new ContractViolation("CreateOrder returned no order id");
  if (placed.checkout !== undefined && (!placed.checkout.completed || placed.checkout.orderId !== placed.orderId)) {
    throw new ContractViolation("CreateOrder: the returned checkout is not completed with the order id", {
      completed: placed.checkout.completed,
      order_id: placed.checkout.orderId,
    });
  }

  // 6. The buyer reads the order back.
  const read = await step("GetOrder", () => orders.getOrder({ id: placed.orderId }, buyer));
  const order = read.order;
  if (order === undefined) throw new ContractViolation("GetOrder returned no order");
  const shipping = order.shippingInfo;
  return {
    ok: true,
    provider: {
      address: provider.address,
      registration: {
        id: registration.id,
        app_id: registration.appId,
        target: registration.target,
        timeout_ms: Number(registration.timeout?.seconds ?? 0n) * 1000 + (registration.timeout?.nanos ?? 0) / 1e6,
        revision: String(registration.revision),
      },
      health: ProviderHealth[checked.health],
      probe: checked.probe,
      stats: provider.stats as unknown as JsonValue,
    },
    cart_id: cart.id,
    checkout_id: checkoutId,
    checkout: {
      revision: String(confirmed.revision),
      currency: confirmed.currency,
      tax_included_in_prices: confirmed.taxIncludedInPrices,
      price_summary: summary(confirmed.priceSummary),
      selected_shipping_option: selection(confirmed),
      offered: offered(confirmed),
      completed_after_create_order: placed.checkout?.completed ?? null,
    },
    order: {
      id: order.id,
      number: String(order.number),
      checkout_id: order.checkoutId,
      status: OrderStatus[order.status] ?? String(order.status),
      payment_status: PaymentStatus[order.paymentStatus] ?? String(order.paymentStatus),
      currency: order.currency,
      tax_included_in_prices: order.taxIncludedInPrices,
      price_summary: summary(order.priceSummary),
      line_items: order.lineItems.map((line) => ({
        catalog_item_id: line.catalogReference?.catalogItemId ?? "",
        app_id: line.catalogReference?.appId ?? "",
        quantity: line.quantity,
        price: amount(line.price),
      })),
      shipping: {
        carrier_id: shipping?.carrierId ?? "",
        code: shipping?.code ?? "",
        title: shipping?.title ?? "",
        price: amount(shipping?.cost?.price),
        total_price_before_tax: amount(shipping?.cost?.totalPriceBeforeTax),
        total_price_after_tax: amount(shipping?.cost?.totalPriceAfterTax),
        destination_country: shipping?.logistics?.shippingDestination?.address?.country ?? "",
      },
      buyer_email: order.buyerInfo?.email ?? "",
      billing_country: order.billingInfo?.address?.country ?? "",
    },
  };
}

function failureOf(cause: unknown): Record<string, JsonValue> {
  if (cause instanceof StepFailure) return { ok: false, step: cause.step, error: cause.error };
  if (cause instanceof ContractViolation) {
    return {
      ok: false,
      step: "contract",
      error: { code: "CONTRACT_VIOLATION", message: cause.message, details: [cause.evidence] },
    };
  }
  return { ok: false, step: "unexpected", error: describeFailure(cause) };
}

async function main(): Promise<number> {
  const options = readOptions();
  const session = new Http2SessionManager(`http://${options.target}`);
  const suite = connect(options, session);
  const cleanup: Cleanup = { registrationId: "" };
  let provider: RunningProvider | undefined;
  const watchdog = setTimeout(() => {
    const error = {
      code: "DEADLINE_EXCEEDED",
      message: `purchase did not finish within ${options.timeoutS} s`,
      details: [],
    };
    const stats = (provider?.stats ?? null) as unknown as JsonValue;
    process.stdout.write(`${JSON.stringify({ ok: false, step: "timeout", error, provider_stats: stats })}\n`);
    process.exit(1);
  }, options.timeoutS * 1000);
  let outcome: Record<string, JsonValue>;
  try {
    provider = await step("start TS provider", () => startShippingProvider());
    outcome = await purchase(options, provider, suite, cleanup);
  } catch (cause) {
    outcome = failureOf(cause);
    outcome.provider_stats = (provider?.stats ?? null) as unknown as JsonValue;
  }
  // Unregister the TS provider: it stops with this script, and a registration pointing at a dead
  // address would add PROVIDER_UNAVAILABLE carrier errors to every later checkout of the site.
  if (cleanup.registrationId !== "") {
    const id = cleanup.registrationId;
    try {
      await step("DeleteProvider", () => suite.registry.deleteProvider({ id }, suite.admin));
      outcome.unregistered = true;
    } catch (cause) {
      if (outcome.ok === true) outcome = failureOf(cause);
      else outcome.unregister_error = failureOf(cause);
    }
  }
  clearTimeout(watchdog);
  session.abort();
  await provider?.close();
  if (outcome.ok !== true) {
    process.stderr.write(`purchase failed at ${String(outcome.step)}: ${JSON.stringify(outcome.error, null, 2)}\n`);
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  return outcome.ok === true ? 0 : 1;
}

process.exitCode = await main();
