/**
 * The Jupyter messaging wire format (protocol 5.3), client side: frames
 * `[<IDS|MSG>, hmac, header, parent_header, metadata, content]`, signed with HMAC-SHA256 over the four
 * JSON frames. https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
 *
 * Written here rather than taken from `@nteract/messaging`: that package builds message objects
 * but leaves framing and signing to a transport (its zeromq backend is unmaintained), and pulls in
 * rxjs 6; the whole format is the forty lines below.
 */
import * as crypto from "crypto";

const DELIMITER = "<IDS|MSG>";

/** A message header. */
export interface MessageHeader {
  readonly msg_id: string;
  readonly msg_type: string;
  readonly session: string;
  readonly username: string;
  readonly date: string;
  readonly version: string;
}

/** A decoded message (identities and binary buffers dropped: the kernel client needs neither). */
export interface JupyterMessage {
  readonly header: MessageHeader;
  readonly parent_header: Partial<MessageHeader>;
  readonly metadata: Record<string, unknown>;
  readonly content: Record<string, unknown>;
}

/** A new request of type `msgType` in `session`. */
export function newMessage(msgType: string, session: string, content: Record<string, unknown>): JupyterMessage {
  return {
    header: {
      msg_id: crypto.randomUUID(),
      msg_type: msgType,
      session,
      username: "fedtune",
      date: new Date().toISOString(),
      version: "5.3",
    },
    parent_header: {},
    metadata: {},
    content,
  };
}

function sign(key: string, parts: readonly (string | Buffer)[]): string {
  if (key === "") return "";
  const h = crypto.createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** The frames to send for `msg`, signed with `key`. */
export function encodeMessage(msg: JupyterMessage, key: string): string[] {
  const parts = [JSON.stringify(msg.header), JSON.stringify(msg.parent_header), JSON.stringify(msg.metadata), JSON.stringify(msg.content)];
  return [DELIMITER, sign(key, parts), ...parts];
}

/** Decode received frames; throws when the delimiter is missing or the signature does not match. */
export function decodeMessage(frames: readonly Buffer[], key: string): JupyterMessage {
  const at = frames.findIndex((f) => f.toString("latin1") === DELIMITER);
  if (at < 0 || frames.length < at + 6) throw new Error("Jupyter message: no <IDS|MSG> delimiter or too few frames");
  const parts = frames.slice(at + 2, at + 6);
  const expected = sign(key, parts);
  const got = frames[at + 1].toString("latin1");
  if (expected.length !== got.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(got))) {
    throw new Error("Jupyter message: bad HMAC signature");
  }
  const [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString("utf8")) as Record<string, unknown>);
  return { header: header as unknown as MessageHeader, parent_header: parent as Partial<MessageHeader>, metadata, content };
}
