// Turns a failed call into plain data (code, message, details) for the interop scripts' output.
//
// The suite puts google.rpc details in `grpc-status-details-bin`: ErrorInfo, BadRequest and
// RetryInfo (services/platform/status.py), plus contract-specific messages such as
// ecom.checkout.v1.InsufficientInventory. gen/ts holds only our protos (google/rpc/status, not
// error_details), so the three google.rpc messages are read here with the wire reader; adding a
// dependency for three small messages is not worth it. Unknown details are kept as base64.
import { toJson } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { InsufficientInventorySchema } from "../../gen/ts/ecom/checkout/v1/checkout_service_pb.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface RpcFailure {
  [key: string]: JsonValue;
  code: string;
  message: string;
  details: JsonValue[];
}

/** "FailedPrecondition" (Code's enum name) -> "FAILED_PRECONDITION" (the gRPC name). */
export function codeName(code: Code): string {
  const name = Code[code] ?? String(code);
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Reads every field of a message as (field number, reader positioned at its value). */
function readFields(bytes: Uint8Array, onField: (no: number, wire: WireType, r: BinaryReader) => void): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wire] = reader.tag();
    onField(no, wire, reader);
  }
}

// google.rpc.ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
function errorInfo(bytes: Uint8Array): JsonValue {
  const out = { reason: "", domain: "", metadata: {} as Record<string, string> };
  readFields(bytes, (no, wire, r) => {
    if (no === 1 && wire === WireType.LengthDelimited) out.reason = r.string();
    else if (no === 2 && wire === WireType.LengthDelimited) out.domain = r.string();
    else if (no === 3 && wire === WireType.LengthDelimited) {
      let key = "";
      let value = "";
      readFields(r.bytes(), (entryNo, entryWire, entry) => {
        if (entryNo === 1 && entryWire === WireType.LengthDelimited) key = entry.string();
        else if (entryNo === 2 && entryWire === WireType.LengthDelimited) value = entry.string();
        else entry.skip(entryWire, entryNo);
      });
      out.metadata[key] = value;
    } else r.skip(wire, no);
  });
  return out;
}

// google.rpc.BadRequest { repeated FieldViolation field_violations = 1; }
// FieldViolation { string field = 1; string description = 2; string reason = 3; }
function badRequest(bytes: Uint8Array): JsonValue {
  const violations: JsonValue[] = [];
  readFields(bytes, (no, wire, r) => {
    if (no !== 1 || wire !== WireType.LengthDelimited) {
      r.skip(wire, no);
      return;
    }
    const violation = { field: "", description: "", reason: "" };
    readFields(r.bytes(), (vNo, vWire, v) => {
      if (vNo === 1 && vWire === WireType.LengthDelimited) violation.field = v.string();
      else if (vNo === 2 && vWire === WireType.LengthDelimited) violation.description = v.string();
      else if (vNo === 3 && vWire === WireType.LengthDelimited) violation.reason = v.string();
      else v.skip(vWire, vNo);
    });
    violations.push(violation);
  });
  return { field_violations: violations };
}

// google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1; } (seconds = 1, nanos = 2)
function retryInfo(bytes: Uint8Array): JsonValue {
  let seconds = 0;
  let nanos = 0;
  readFields(bytes, (no, wire, r) => {
    if (no !== 1 || wire !== WireType.LengthDelimited) {
      r.skip(wire, no);
      return;
    }
    readFields(r.bytes(), (dNo, dWire, d) => {
      if (dNo === 1 && dWire === WireType.Varint) seconds = Number(d.int64());
      else if (dNo === 2 && dWire === WireType.Varint) nanos = d.int32();
      else d.skip(dWire, dNo);
    });
  });
  return { retry_delay_s: seconds + nanos / 1e9 };
}

const GOOGLE_RPC: Record<string, (bytes: Uint8Array) => JsonValue> = {
  "google.rpc.ErrorInfo": errorInfo,
  "google.rpc.BadRequest": badRequest,
  "google.rpc.RetryInfo": retryInfo,
};

function detail(error: ConnectError, type: string, value: Uint8Array): JsonValue {
  const decode = GOOGLE_RPC[type];
  try {
    if (decode !== undefined) return { type, ...(decode(value) as Record<string, JsonValue>) };
    if (type === InsufficientInventorySchema.typeName) {
      const [found] = error.findDetails(InsufficientInventorySchema);
      if (found !== undefined) return { type, ...(toJson(InsufficientInventorySchema, found) as Record<string, JsonValue>) };
    }
  } catch (cause) {
    return { type, undecodable: String(cause), base64: Buffer.from(value).toString("base64") };
  }
  return { type, base64: Buffer.from(value).toString("base64") };
}

/** The gRPC status of a failed call, with its details decoded where we know their type. */
export function describeFailure(cause: unknown): RpcFailure {
  if (!(cause instanceof ConnectError)) {
    const message = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    return { code: "CLIENT_ERROR", message, details: [] };
  }
  const details = cause.details.map((d): JsonValue => {
    if ("type" in d) return detail(cause, d.type, d.value);
    return { type: d.desc.typeName, outgoing: true };
  });
  return { code: codeName(cause.code), message: cause.rawMessage, details };
}
