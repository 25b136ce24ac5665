/*
 * Verification in the browser (issue #17): a product page checks, with WebCrypto only
 * (SHA-256, Ed25519), that each event it shows is in the ledger's Merkle log under a checkpoint
 * signed by the log key the page was configured with and cosigned by the witness policy's
 * quorum, and — where the caller may read the event — that the event's own signature holds.
 * The server is trusted for bytes only.
 *
 * The specs, followed step by step below (docs/browser-verification.md maps the steps):
 *   docs/merkle-log.md        "Leaves", "Checkpoints"; RFC 6962 hashing, RFC 9162 §2.1.3.2
 *   docs/event-signatures.md  "Leaf of an event", "What is signed", "What is stored",
 *                             "Verifying one event", "Keys"
 *   c2sp.org/signed-note, c2sp.org/tlog-checkpoint (as audit/offline/note.py, checkpoint.py)
 *   c2sp.org/tlog-cosignature, tlog-policy (as audit/offline/cosignature.py): witnesses,
 *                             under the witness policy the page shows (data-witness-policy)
 *
 * Part 1 is pure functions (exported for tests under Node as module.exports, in the browser as
 * window.PPLVerify); part 2 is the page: it finds <section id="verification">, runs on a click
 * of #verify-run and writes one row per event, through textContent only.
 * No third-party code, no inline script (the pages run under script-src 'self').
 */
(function (root, factory) {
  "use strict";
  const api = factory(root);
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.PPLVerify = api;
    if (root.document) api.install(root.document);
  }
})(globalThis, function (root) {
  "use strict";

  // ===== Part 1: pure functions =================================================================

  /** Every failure: a stable code (the messages below are keyed by it) and a detail that says
   *  "got X, want Y" in the protocol's own terms. */
  class VerifyError extends Error {
    constructor(code, detail) {
      super(detail ? code + ": " + detail : code);
      this.name = "VerifyError";
      this.code = code;
      this.detail = detail || "";
    }
  }

  const HASH_SIZE = 32;
  const encoder = new TextEncoder();

  function subtle() {
    if (!root.crypto || !root.crypto.subtle) {
      throw new VerifyError("no_webcrypto", "crypto.subtle is missing (a page not served over HTTPS?)");
    }
    return root.crypto.subtle;
  }

  // --- bytes ------------------------------------------------------------------------------------
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function toHex(bytes) {
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text) {
    if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/.test(text)) {
      throw new VerifyError("bad_encoding", "got " + JSON.stringify(text) + ", want lowercase hex");
    }
    return Uint8Array.from(text.match(/../g) || [], (pair) => parseInt(pair, 16));
  }

  function toBase64(bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  /** Standard base64, canonical only (padding, zero trailing bits): one text per byte string. */
  function fromBase64(text) {
    const shape = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    if (typeof text !== "string" || !shape.test(text)) {
      throw new VerifyError("bad_encoding", "got " + JSON.stringify(String(text).slice(0, 60)) + ", want standard base64");
    }
    const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    if (toBase64(bytes) !== text) {
      throw new VerifyError("bad_encoding", "base64 " + JSON.stringify(text.slice(0, 60)) + " is not canonical");
    }
    return bytes;
  }

  function uint32(value) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value);
    return out;
  }

  function uint64(value) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(value));
    return out;
  }

  function readUint32(bytes, offset) {
    return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
  }

  /** A UUID's 16 bytes in RFC 4122 order (docs/event-signatures.md "Leaf of an event"). */
  function uuidBytes(text) {
    const match = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/.exec(text);
    if (!match) throw new VerifyError("document_malformed", "got id " + JSON.stringify(text) + ", want a lowercase UUID");
    return fromHex(match.slice(1).join(""));
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest("SHA-256", bytes));
  }

  async function ed25519Verify(publicKey, signature, message) {
    let key;
    try {
      key = await subtle().importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      throw new VerifyError("no_webcrypto", "Ed25519 key import failed: " + (error && error.message));
    }
    return subtle().verify({ name: "Ed25519" }, key, signature, message);
  }

  // --- RFC 6962 / RFC 9162 Merkle trees (docs/merkle-log.md) ------------------------------------
  /** RFC 6962 §2.1: leaf hash = SHA-256(0x00 || data). */
  function leafHash(data) {
    return sha256(concat(Uint8Array.of(0x00), data));
  }

  /** RFC 6962 §2.1: interior node = SHA-256(0x01 || left || right). */
  function nodeHash(left, right) {
    return sha256(concat(Uint8Array.of(0x01), left, right));
  }

  function bitLength(value) {
    return value === 0n ? 0 : value.toString(2).length;
  }

  /** RFC 9162 §2.1.3.1: how many hashes the proof of leaf `index` in a tree of `size` has. */
  function inclusionProofLength(index, size) {
    const i = BigInt(index);
    const inner = bitLength(i ^ (BigInt(size) - 1n));
    const border = (i >> BigInt(inner)).toString(2).split("1").length - 1;
    return inner + border;
  }

  function checkHash(what, hash) {
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
      const got = hash instanceof Uint8Array ? hash.length : typeof hash;
      throw new VerifyError("proof_malformed", what + " has " + got + " bytes, want " + HASH_SIZE);
    }
  }

  /**
   * The root an inclusion proof leads to, RFC 9162 §2.1.3.2. Every precondition is checked
   * before any hashing: index < size, a 32-byte leaf, the proof's exact length, 32-byte hashes.
   */
  async function rootFromInclusionProof(index, size, leaf, proof) {
    const i = BigInt(index);
    const n = BigInt(size);
    // (1) "If leaf_index is greater than or equal to tree_size, then fail"
    if (i < 0n || i >= n) {
      throw new VerifyError("proof_malformed", "index " + i + " is beyond size " + n);
    }
    checkHash("leaf hash", leaf);
    const want = inclusionProofLength(i, n);
    if (!Array.isArray(proof) || proof.length !== want) {
      const got = Array.isArray(proof) ? proof.length : typeof proof;
      throw new VerifyError("proof_malformed", "proof has " + got + " hashes, want " + want);
    }
    proof.forEach((node, position) => checkHash("proof[" + position + "]", node));
    // (2) "Set fn to leaf_index and sn to tree_size - 1"; (3) "Set r to hash"
    let fn = i;
    let sn = n - 1n;
    let r = leaf;
    // (4) for each p in the inclusion path
    for (const p of proof) {
      // (4a) "If sn is 0, then stop the iteration and fail" (cannot happen: length checked)
      if (sn === 0n) throw new VerifyError("proof_malformed", "proof is longer than the path");
      if ((fn & 1n) === 1n || fn === sn) {
        // (4b) a left sibling: r = HASH(0x01 || p || r), then skip the levels where r is a
        // lone rightmost node
        r = await nodeHash(p, r);
        // "If LSB(fn) is not set, then right-shift both fn and sn equally until either
        // LSB(fn) is set or fn is 0"
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        // otherwise a right sibling: r = HASH(0x01 || r || p)
        r = await nodeHash(r, p);
      }
      // (4c) "right-shift both fn and sn one time"
      fn >>= 1n;
      sn >>= 1n;
    }
    // (5) "Compare sn to 0" (the root comparison is verifyInclusion's)
    if (sn !== 0n) throw new VerifyError("proof_malformed", "proof is shorter than the path");
    return r;
  }

  /** Check that `leaf` is at `index` of the tree of `size` leaves whose root is `root`. */
  async function verifyInclusion(index, size, leaf, proof, root) {
    checkHash("root", root);
    const calculated = await rootFromInclusionProof(index, size, leaf, proof);
    if (!equalBytes(calculated, root)) {
      throw new VerifyError(
        "root_mismatch",
        "calculated root " + toBase64(calculated) + ", want " + toBase64(root),
      );
    }
  }

  // --- events and log leaves (docs/event-signatures.md, docs/merkle-log.md "Leaves") -----------
  const EVENT_CONTEXT = encoder.encode("ppl/event/v1\0");
  const LOG_LEAF_CONTEXT = encoder.encode("ppl/log-leaf/v1\0");
  const SAVE_CONTEXT = encoder.encode("ppl/save-signature/v1\0");
  const MAGIC = Uint8Array.of(0x50, 0x50, 0x4c, 0x01);
  const FIXED_HEADER_SIZE = 84; // magic 4, key id 8, signature 64, n 4, i 4

  /** context || originator_id (16) || version (8, big-endian) || len(topic) (4) || topic ||
   *  payload: the framing both leaves share ("Leaf of an event"; merkle-log.md "Leaves"). */
  function eventFrame(context, originatorId, version, topic, payload) {
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new VerifyError("document_malformed", "got version " + JSON.stringify(version) + ", want an integer >= 0");
    }
    const topicBytes = encoder.encode(topic);
    return concat(context, uuidBytes(originatorId), uint64(version), uint32(topicBytes.length), topicBytes, payload);
  }

  /** docs/event-signatures.md "Leaf of an event": over the canonical JSON state. */
  function eventLeafData(originatorId, version, topic, state) {
    return eventFrame(EVENT_CONTEXT, originatorId, version, topic, state);
  }

  /** docs/merkle-log.md "Leaves": over the stored state, the whole signed envelope. */
  function logLeafData(originatorId, version, topic, storedState) {
    return eventFrame(LOG_LEAF_CONTEXT, originatorId, version, topic, storedState);
  }

  /** docs/event-signatures.md "What is signed". */
  function saveSigningMessage(keyId, size, root) {
    return concat(SAVE_CONTEXT, keyId, uint32(size), root);
  }

  /** The event-signing key id: the first 8 bytes of SHA-256 over the raw key ("What is stored"). */
  async function eventKeyId(publicKey) {
    return toHex((await sha256(publicKey)).slice(0, 8));
  }

  /** "Verifying one event" (1): split the stored state ("What is stored"), checking its layout. */
  function parseEnvelope(stored) {
    if (stored.length < FIXED_HEADER_SIZE) {
      throw new VerifyError("event_malformed", "got " + stored.length + " bytes, want at least " + FIXED_HEADER_SIZE);
    }
    if (!equalBytes(stored.subarray(0, 4), MAGIC)) {
      throw new VerifyError("event_malformed", "got magic " + toHex(stored.subarray(0, 4)) + ", want 50504c01");
    }
    const keyId = stored.slice(4, 12);
    const signature = stored.slice(12, 76);
    const size = readUint32(stored, 76);
    const index = readUint32(stored, 80);
    if (!(size >= 1 && index < size)) {
      throw new VerifyError("event_malformed", "index " + index + " in a save of " + size + ": want index < size");
    }
    const proofEnd = FIXED_HEADER_SIZE + HASH_SIZE * inclusionProofLength(index, size);
    if (stored.length < proofEnd) {
      throw new VerifyError("event_malformed", "got " + stored.length + " bytes, want at least " + proofEnd);
    }
    const proof = [];
    for (let at = FIXED_HEADER_SIZE; at < proofEnd; at += HASH_SIZE) proof.push(stored.slice(at, at + HASH_SIZE));
    return { keyId, signature, size, index, proof, state: stored.slice(proofEnd) };
  }

  /**
   * docs/event-signatures.md "Verifying one event", steps (1)-(4). `trustedKeys` maps a key id
   * (16 hex digits) to a raw 32-byte Ed25519 public key. Returns the key id that signed.
   */
  async function verifyEventSignature(originatorId, version, topic, stored, trustedKeys) {
    // (1) parse: magic, key id, signature, n >= 1, i < n, enough bytes for the k proof hashes
    const envelope = parseEnvelope(stored);
    // (2) look the key id up among trusted keys
    const keyHex = toHex(envelope.keyId);
    const publicKey = trustedKeys.get(keyHex);
    if (!publicKey) throw new VerifyError("event_unknown_key", "key id " + keyHex + " is not among the trusted keys");
    // (3) recompute leaf_hash from the stored id, version, topic and state, and R from the proof
    const leaf = await leafHash(eventLeafData(originatorId, version, topic, envelope.state));
    let root;
    try {
      root = await rootFromInclusionProof(envelope.index, envelope.size, leaf, envelope.proof);
    } catch (error) {
      throw new VerifyError("event_malformed", error.detail || String(error));
    }
    // (4) verify the signature over message(key_id, n, R)
    const message = saveSigningMessage(envelope.keyId, envelope.size, root);
    if (!(await ed25519Verify(publicKey, envelope.signature, message))) {
      throw new VerifyError("event_bad_signature", "key " + keyHex + " did not sign what is stored");
    }
    return keyHex;
  }

  // --- C2SP signed notes and checkpoints (docs/merkle-log.md "Checkpoints") ---------------------
  const NOTE_CONTROL = /[\x00-\x09\x0b-\x1f]/;
  const SIGNATURE_PREFIX = "\u2014 "; // em dash, space
  const MAX_SIGNATURES = 100; // as Go's note.Open and audit/offline/note.py

  function keyNameProblem(name) {
    if (!name) return "got an empty key name";
    if (name.includes("+")) return "key name " + JSON.stringify(name) + " contains '+'";
    if (/\s/u.test(name) || NOTE_CONTROL.test(name)) {
      return `key name ${JSON.stringify(name)} contains a space or control character`;
    }
    return null;
  }

  /** The note key id: SHA-256(name || 0x0A || 0x01 || public key)[:4] (c2sp.org/signed-note). */
  async function noteKeyId(name, publicKey) {
    return (await sha256(concat(encoder.encode(name + "\n"), Uint8Array.of(0x01), publicKey))).slice(0, 4);
  }

  /** Split a vkey `<name>+<8 hex key id>+base64(type || key)` (c2sp.org/signed-note "Verifier
   *  keys"), checking the name, the key id's spelling and the base64; failures carry `code`. */
  function splitVkey(text, code) {
    // split at the first two '+' only: the base64 key may contain '+' itself
    const match = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(typeof text === "string" ? text.trim() : "");
    if (!match) throw new VerifyError(code, "want <name>+<key id>+<key>");
    const [, name, idHex, keyText] = match;
    const problem = keyNameProblem(name);
    if (problem) throw new VerifyError(code, problem);
    if (!/^[0-9a-f]{8}$/i.test(idHex)) {
      throw new VerifyError(code, `key id ${JSON.stringify(idHex)}, want 8 hex digits`);
    }
    let key;
    try {
      key = fromBase64(keyText);
    } catch (error) {
      throw new VerifyError(code, error.detail);
    }
    return { name, idHex: idHex.toLowerCase(), key };
  }

  /** A verifier key `<name>+<8 hex key id>+base64(0x01 || key)`, its key id recomputed. */
  async function parseVerifierKey(text) {
    const { name, idHex, key } = splitVkey(text, "log_key_malformed");
    if (key.length !== 33 || key[0] !== 0x01) {
      throw new VerifyError("log_key_malformed", "want 33 bytes: 0x01 (Ed25519) and the key");
    }
    const publicKey = key.slice(1);
    const keyId = await noteKeyId(name, publicKey);
    if (toHex(keyId) !== idHex) {
      const want = toHex(keyId);
      throw new VerifyError("log_key_malformed", `got key id ${idHex}, want ${want} (derived from the name and key)`);
    }
    return { name, keyId, publicKey };
  }

  /**
   * Split a signed note into its text and parsed signature lines, before any cryptography
   * (c2sp.org/signed-note; audit/offline/note.py split_note): {text, lines: [{name, keyId,
   * signature}]}, where `signature` is what follows the 4-byte key id.
   */
  function splitNote(signedNote) {
    // (1) the note is text without control characters but newline
    if (typeof signedNote !== "string") throw new VerifyError("note_malformed", "want the note's text");
    const control = NOTE_CONTROL.exec(signedNote);
    if (control) throw new VerifyError("note_malformed", "control character at offset " + control.index);
    // (2) text and signature block split at the last empty line
    const split = signedNote.lastIndexOf("\n\n");
    if (split < 0) throw new VerifyError("note_malformed", "no empty line before the signatures");
    const text = signedNote.slice(0, split + 1);
    const block = signedNote.slice(split + 2);
    if (!block || !block.endsWith("\n")) {
      throw new VerifyError("note_malformed", "want signature lines, each ending in a newline");
    }
    // (3) bound and parse every signature line before any cryptography
    const lines = block.slice(0, -1).split("\n");
    if (lines.length > MAX_SIGNATURES) {
      throw new VerifyError("note_malformed", `got ${lines.length} signature lines, want at most ${MAX_SIGNATURES}`);
    }
    const parsed = lines.map((line, number) => {
      const where = "signature line " + (number + 1);
      if (!line.startsWith(SIGNATURE_PREFIX)) {
        throw new VerifyError("note_malformed", `${where}: want it to start with an em dash and a space`);
      }
      const rest = line.slice(SIGNATURE_PREFIX.length);
      const space = rest.indexOf(" ");
      if (space < 0) throw new VerifyError("note_malformed", where + ": want '<name> <base64 signature>'");
      const name = rest.slice(0, space);
      const problem = keyNameProblem(name);
      if (problem) throw new VerifyError("note_malformed", where + ": " + problem);
      let blob;
      try {
        blob = fromBase64(rest.slice(space + 1));
      } catch (error) {
        throw new VerifyError("note_malformed", where + ": " + error.detail);
      }
      if (blob.length <= 4) {
        throw new VerifyError("note_malformed", `${where}: got ${blob.length} bytes, want a key id and a signature`);
      }
      return { name, keyId: blob.slice(0, 4), signature: blob.slice(4) };
    });
    return { text, lines: parsed };
  }

  /**
   * Open a signed note with one trusted key (c2sp.org/signed-note; audit/offline/note.py
   * open_note): returns the signed text. Signatures by other keys are ignored.
   */
  async function openNote(signedNote, verifier) {
    // (1)-(3) the note's shape and every signature line, parsed (splitNote)
    const { text, lines: parsed } = splitNote(signedNote);
    // (4) verify each signature by the trusted key (name and key id) over the text's bytes
    const message = encoder.encode(text);
    let verified = false;
    for (const line of parsed) {
      if (line.name !== verifier.name || !equalBytes(line.keyId, verifier.keyId)) continue;
      if (line.signature.length !== 64) {
        throw new VerifyError("note_bad_signature", "got a " + line.signature.length + "-byte signature, want 64");
      }
      if (!(await ed25519Verify(verifier.publicKey, line.signature, message))) {
        const key = `${verifier.name}+${toHex(verifier.keyId)}`;
        throw new VerifyError("note_bad_signature", `the signature of ${key} does not verify`);
      }
      verified = true;
    }
    // (5) at least one signature by the trusted key
    if (!verified) throw new VerifyError("note_unverified", "no signature by " + verifier.name + "+" + toHex(verifier.keyId));
    return text;
  }

  /** A checkpoint's text (c2sp.org/tlog-checkpoint), its one canonical spelling only. */
  function parseCheckpoint(text) {
    if (!text.endsWith("\n")) throw new VerifyError("checkpoint_malformed", "text does not end with a newline");
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) {
      throw new VerifyError("checkpoint_malformed", `got ${lines.length} lines, want at least 3 (origin, size, root)`);
    }
    const [origin, sizeLine, rootLine, ...extensions] = lines;
    for (const line of [origin, ...extensions]) {
      if (!line || /[\x00-\x1f]/.test(line)) throw new VerifyError("checkpoint_malformed", "empty line or control character");
    }
    if (!/^(?:0|[1-9][0-9]{0,19})$/.test(sizeLine) || BigInt(sizeLine) > 2n ** 64n - 1n) {
      const got = JSON.stringify(sizeLine.slice(0, 80));
      throw new VerifyError("checkpoint_malformed", `tree size ${got}: want decimal 0..2^64-1`);
    }
    let root;
    try {
      root = fromBase64(rootLine);
    } catch (error) {
      throw new VerifyError("checkpoint_malformed", "root: " + error.detail);
    }
    if (root.length !== HASH_SIZE) throw new VerifyError("checkpoint_malformed", "got a " + root.length + "-byte root, want 32");
    return { origin, size: BigInt(sizeLine), root, extensions };
  }

  /** docs/merkle-log.md "Checkpoints": open the note with the log key, parse it, check that
   *  its origin is the log's (the key's name). */
  async function verifyCheckpoint(signedNote, verifier) {
    const checkpoint = parseCheckpoint(await openNote(signedNote, verifier));
    if (checkpoint.origin !== verifier.name) {
      const [got, want] = [checkpoint.origin, verifier.name].map((text) => JSON.stringify(text));
      throw new VerifyError("checkpoint_origin", `got origin ${got}, want ${want}`);
    }
    return checkpoint;
  }

  // --- the product index (docs/product-index.md): sparse map v1 proofs, the index note -------
  // As audit/offline/sparse_map.py and index_note.py: the log's signed note of its map roots
  // at one checkpoint, and a proof that this product's key maps to a value naming it.
  const MAP_KEY_PREFIX = encoder.encode("ppl/map-key/v1\0");
  const MAP_LEAF_PREFIX = encoder.encode("ppl/map-leaf/v1\0");
  const MAP_NODE_PREFIX = encoder.encode("ppl/map-node/v1\0");
  const MAP_EMPTY = new Uint8Array(HASH_SIZE);
  const INDEX_NOTE_HEADER = "ppl-product-index/v1";
  const INDEX_MAPS = ["product-keys", "patents"];

  async function mapPath(mapId, key) {
    return sha256(concat(MAP_KEY_PREFIX, encoder.encode(mapId), Uint8Array.of(0), key));
  }

  function pathBit(path, i) {
    return (path[i >> 3] >> (7 - (i & 7))) & 1;
  }

  /** A sparse map v1 proof, decoded and shape-checked (docs/product-index.md "Proof encoding"). */
  function decodeMapProof(data) {
    const fail = (detail) => new VerifyError("index_proof", detail);
    if (data.length < 3 || data[0] !== 0x01) throw fail("not a sparse map v1 proof");
    const depth = (data[1] << 8) | data[2];
    if (depth > 256) throw fail(`depth ${depth}: want 0..256`);
    const bitmapSize = (depth + 7) >> 3;
    let offset = 3 + bitmapSize;
    if (data.length < offset) throw fail("cut off in its bitmap");
    const bitmap = data.slice(3, offset);
    const present = [];
    for (let k = 0; k < bitmapSize * 8; k++) {
      const set = (bitmap[k >> 3] >> (7 - (k & 7))) & 1;
      if (set && k >= depth) throw fail("a bitmap bit past the depth");
      present.push(Boolean(set));
    }
    if (depth >= 1 && !present[depth - 1]) throw fail("the deepest sibling is marked EMPTY");
    const siblings = [];
    for (let k = 0; k < depth; k++) {
      if (!present[k]) {
        siblings.push(MAP_EMPTY);
        continue;
      }
      if (data.length < offset + HASH_SIZE) throw fail("cut off in its siblings");
      const sibling = data.slice(offset, offset + HASH_SIZE);
      if (equalBytes(sibling, MAP_EMPTY)) throw fail(`sibling at depth ${k + 1} is an encoded EMPTY`);
      siblings.push(sibling);
      offset += HASH_SIZE;
    }
    if (data.length < offset + 1) throw fail("no terminal");
    const kind = data[offset];
    offset += 1;
    if (kind !== 0x01) throw fail("not a proof of presence");
    if (offset !== data.length) throw fail("bytes after the terminal");
    return { depth, siblings };
  }

  /** verify_presence: the proof leads from leaf(path, SHA-256(value)) to ``root``. */
  async function verifyMapPresence(root, path, value, proofBytes) {
    const proof = decodeMapProof(proofBytes);
    let hash = await sha256(concat(MAP_LEAF_PREFIX, path, await sha256(value)));
    for (let k = proof.depth; k >= 1; k--) {
      const sibling = proof.siblings[k - 1];
      hash = await sha256(
        pathBit(path, k - 1) ? concat(MAP_NODE_PREFIX, sibling, hash) : concat(MAP_NODE_PREFIX, hash, sibling),
      );
    }
    if (!equalBytes(hash, root)) throw new VerifyError("index_proof", "the proof leads to another root than the note's");
  }

  /** An index note's text: the checkpoint it names and each map's entries and root. */
  function parseIndexNote(text) {
    const fail = (detail) => new VerifyError("index_note", detail);
    if (!text.endsWith("\n")) throw fail("text does not end with a newline");
    const lines = text.slice(0, -1).split("\n");
    if (lines.length !== 4 + INDEX_MAPS.length || lines[0] !== INDEX_NOTE_HEADER) throw fail("not a product-index note");
    const [, origin, sizeLine, rootLine, ...mapLines] = lines;
    if (!/^(?:0|[1-9][0-9]{0,19})$/.test(sizeLine)) throw fail("tree size " + JSON.stringify(sizeLine.slice(0, 40)));
    const maps = {};
    for (const [position, name] of INDEX_MAPS.entries()) {
      const parts = mapLines[position].split(" ");
      if (parts.length !== 3 || parts[0] !== name || !/^(?:0|[1-9][0-9]*)$/.test(parts[1])) {
        throw fail("map line " + JSON.stringify(mapLines[position].slice(0, 60)));
      }
      maps[name] = { entries: BigInt(parts[1]), root: fromBase64(parts[2]) };
    }
    return { origin, size: BigInt(sizeLine), root: fromBase64(rootLine), maps };
  }

  /** docs/browser-verification.md "The product index": the index note of a signed checkpoint
   *  proves that the product's key maps to a value naming it as the key's holder, and lists
   *  exactly the product's events the page shows (none left out, none added). */
  async function checkIndex(doc, trusted, documentSize) {
    const index = doc.index;
    if (!index || typeof index !== "object") {
      return { ok: false, code: "index_missing", detail: "" };
    }
    try {
      const checkpoint = await verifyCheckpoint(index.checkpoint, trusted.log);
      const note = parseIndexNote(await openNote(index.note, trusted.log));
      if (note.origin !== checkpoint.origin || note.size !== checkpoint.size || !equalBytes(note.root, checkpoint.root)) {
        throw new VerifyError("index_note", `it names another checkpoint than the one of size ${checkpoint.size}`);
      }
      const key = encoder.encode(String(index.key));
      const value = fromBase64(index.value_bytes);
      await verifyMapPresence(note.maps["product-keys"].root, await mapPath("product-keys", key), value, fromBase64(index.proof));
      const committed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(value));
      const separator = String(index.key).indexOf("\u001e");
      const [rule, productKey] = [String(index.key).slice(0, separator), String(index.key).slice(separator + 1)];
      if (committed.format !== "ppl-index/product-key/v1" || String(committed.key_rule) !== rule || committed.key !== productKey) {
        throw new VerifyError("index_value", "the value is not this key's");
      }
      if (committed.holder !== doc.product_id) {
        throw new VerifyError("index_value", `the key is held by ${committed.holder}, not by this product`);
      }
      const filing = (committed.filings || []).find((f) => f && f.product_id === doc.product_id);
      if (!filing || !Array.isArray(filing.leaves)) throw new VerifyError("index_value", "the value does not list this product");
      const upto = note.size < documentSize ? note.size : documentSize;
      const listed = filing.leaves.filter((leaf) => BigInt(leaf) < upto);
      const shown = doc.events.map((event) => event && event.leaf_index).filter((leaf) => BigInt(leaf) < upto);
      if (listed.length !== shown.length || listed.some((leaf, i) => leaf !== shown[i])) {
        const detail = `the index lists leaves ${listed.join(", ") || "none"}, the page shows ${shown.join(", ") || "none"}`;
        throw new VerifyError("index_trail", detail);
      }
      return { ok: true, size: checkpoint.size.toString(), rule, events: listed.length, filings: committed.filings.length };
    } catch (error) {
      return { ok: false, ...failure(error) };
    }
  }

  // --- witness cosignatures (c2sp.org/tlog-cosignature) and the policy requiring them --------
  // As audit/offline/cosignature.py: a quorum of witnesses cosigning the checkpoint means no
  // split view was shown to them. Two cosignature types; WebCrypto has Ed25519 but no
  // ML-DSA, so an ML-DSA-44 witness is *unverifiable* here: its cosignature never counts.
  const COSIGNATURE_TYPES = {
    0x04: { algorithm: "Ed25519", keySize: 32, verifiable: true },
    0x06: { algorithm: "ML-DSA-44", keySize: 1312, verifiable: false },
  };
  const ED25519_COSIGNATURE_SIZE = 8 + 64; // u64 timestamp || Ed25519 signature
  const MAX_TIMESTAMP = 2n ** 63n - 1n;
  const MAX_CLOCK_SKEW = 300n; // seconds a cosignature may be ahead of the verifier's clock

  /** The cosigner key id: SHA-256(name || 0x0A || type || public key)[:4] (tlog-cosignature). */
  async function cosignerKeyId(name, type, publicKey) {
    return (await sha256(concat(encoder.encode(name + "\n"), Uint8Array.of(type), publicKey))).slice(0, 4);
  }

  /** A witness's vkey `<name>+<8 hex key id>+base64(type || key)`, type 0x04 (Ed25519
   *  cosignature/v1) or 0x06 (ML-DSA-44), its key id recomputed. */
  async function parseCosignerKey(text) {
    const { name, idHex, key } = splitVkey(text, "witness_key_malformed");
    const type = key.length ? COSIGNATURE_TYPES[key[0]] : undefined;
    if (!type) {
      const got = key.length ? "0x" + key[0].toString(16).padStart(2, "0") : "no key";
      throw new VerifyError("witness_key_malformed", `${name}: got ${got}, want type 0x04 (Ed25519) or 0x06 (ML-DSA-44)`);
    }
    const publicKey = key.slice(1);
    if (publicKey.length !== type.keySize) {
      const got = `a ${publicKey.length}-byte ${type.algorithm} key`;
      throw new VerifyError("witness_key_malformed", `${name}: got ${got}, want ${type.keySize} bytes`);
    }
    const keyId = await cosignerKeyId(name, key[0], publicKey);
    if (toHex(keyId) !== idHex) {
      const want = toHex(keyId);
      throw new VerifyError("witness_key_malformed", `${name}: got key id ${idHex}, want ${want} (derived from the name, type and key)`);
    }
    return { name, type: key[0], algorithm: type.algorithm, verifiable: type.verifiable, keyId, publicKey, label: name + "+" + idHex };
  }

  /**
   * A witness policy as data — {quorum: name or null, witnesses: [{name, vkey}], groups:
   * [{name, threshold, members}]}, the verification document's `keys.witnesses` or kOfN's —
   * checked as audit/offline/cosignature.py WitnessPolicy.parse checks a tlog-policy file:
   * names defined once and before use ("none" reserved), each witness key parsed, no public key
   * twice, members defined and listed once, 1 <= threshold <= members, the quorum defined.
   */
  async function parseWitnessPolicy(data) {
    const bad = (detail) => new VerifyError("witness_policy_malformed", detail);
    if (!data || typeof data !== "object" || !Array.isArray(data.witnesses) || !Array.isArray(data.groups)) {
      throw bad("want {quorum, witnesses: [...], groups: [...]}");
    }
    const defined = new Set();
    const define = (name) => {
      if (typeof name !== "string" || !name || name === "none" || defined.has(name)) {
        throw bad(`name ${JSON.stringify(name)} is empty, reserved or already defined`);
      }
      defined.add(name);
      return name;
    };
    const witnesses = [];
    const publicKeys = new Set();
    for (const entry of data.witnesses) {
      const key = await parseCosignerKey(entry && entry.vkey);
      const name = define(entry.name);
      if (publicKeys.has(toHex(key.publicKey))) throw bad(`${name}: another witness has the same public key`);
      publicKeys.add(toHex(key.publicKey));
      witnesses.push({ name, key });
    }
    const groups = [];
    for (const entry of data.groups) {
      const members = entry && Array.isArray(entry.members) ? entry.members : null;
      if (!members || !members.length || members.some((member) => !defined.has(member))) {
        throw bad(`group ${JSON.stringify(entry && entry.name)}: want members defined before it`);
      }
      if (new Set(members).size !== members.length) throw bad(`group ${entry.name}: a member is listed twice`);
      const k = entry.threshold;
      if (!Number.isSafeInteger(k) || k < 1 || k > members.length) {
        throw bad(`group ${entry.name}: threshold ${JSON.stringify(k)}, want 1..${members.length}`);
      }
      groups.push({ name: define(entry.name), threshold: k, members: members.slice() });
    }
    const quorum = data.quorum === null || data.quorum === undefined ? null : data.quorum;
    if (quorum !== null && !defined.has(quorum)) throw bad(`quorum ${JSON.stringify(quorum)} is not defined`);
    return { quorum, witnesses, groups };
  }

  /** The policy K of the witness keys given (default: all of them), as the command line's
   *  `--witness VKEY`... `--witness-threshold K` (audit/offline/cosignature.py k_of_n). */
  function kOfN(vkeys, threshold) {
    const bad = (detail) => new VerifyError("witness_policy_malformed", detail);
    if (!vkeys.length) throw bad("a witness threshold needs at least one witness key");
    const given = threshold === null || threshold === undefined || threshold === "" ? null : String(threshold).trim();
    if (given !== null && !/^[1-9][0-9]{0,3}$/.test(given)) {
      throw bad(`threshold ${JSON.stringify(given)}, want 1..${vkeys.length}`);
    }
    const k = given === null ? vkeys.length : Number(given);
    if (k > vkeys.length) throw bad(`threshold ${k}, want 1..${vkeys.length} (the witness keys given)`);
    const witnesses = vkeys.map((vkey, index) => ({ name: "w" + (index + 1), vkey }));
    return { quorum: "quorum", witnesses, groups: [{ name: "quorum", threshold: k, members: witnesses.map((w) => w.name) }] };
  }

  /** The quorum in words, as WitnessPolicy.describe: "2 of [a+1234abcd, b+5678ef01]". */
  function describePolicy(policy) {
    if (policy.quorum === null) return "none";
    const groups = new Map(policy.groups.map((group) => [group.name, group]));
    const labels = new Map(policy.witnesses.map((witness) => [witness.name, witness.key.label]));
    const words = (name) => {
      const group = groups.get(name);
      if (!group) return labels.get(name);
      return `${group.threshold} of [${group.members.map(words).join(", ")}]`;
    };
    return words(policy.quorum);
  }

  /** Whether cosignatures by these policy witnesses (a Set of their names) meet the quorum:
   *  groups decided in order, each after its members (WitnessPolicy.is_met). */
  function quorumMet(policy, cosigned) {
    if (policy.quorum === null) return true;
    const met = new Map(policy.witnesses.map((witness) => [witness.name, cosigned.has(witness.name)]));
    for (const group of policy.groups) {
      met.set(group.name, group.members.filter((member) => met.get(member)).length >= group.threshold);
    }
    return met.get(policy.quorum) === true;
  }

  /**
   * Does the document's witness policy (`keys.witnesses`) differ from the one the page shows
   * (`data-witness-policy`, rendered from the server's configuration as the keys are)? The
   * document never chooses the policy: like its keys it is compared, and any difference — the
   * quorum, a witness's name or vkey, a group's name, threshold or members, their order — is
   * reported. A document without `witnesses` names no policy: the same as `quorum: null`,
   * which differs from a page that shows a quorum. `description` (words for people) is not
   * compared: verify.js describes the policy it checks itself.
   * Returns the parts that differ: [] when none, else some of "quorum", "witnesses", "groups".
   */
  function policyDifferences(documentPolicy, pagePolicy) {
    const shape = (data) => {
      if (data === undefined || data === null) return { quorum: null, witnesses: [], groups: [] };
      if (typeof data !== "object") return { quorum: data, witnesses: data, groups: data };
      const list = (items, fields) =>
        Array.isArray(items)
          ? items.map((item) => fields.map((field) => (item && typeof item === "object" ? item[field] : item)))
          : items;
      return {
        quorum: data.quorum === undefined ? null : data.quorum,
        witnesses: list(data.witnesses === undefined ? [] : data.witnesses, ["name", "vkey"]),
        groups: list(data.groups === undefined ? [] : data.groups, ["name", "threshold", "members"]),
      };
    };
    const got = shape(documentPolicy);
    const want = shape(pagePolicy);
    const same = (a, b) => JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);
    return ["quorum", "witnesses", "groups"].filter((part) => !same(got[part], want[part]));
  }

  /** The document's policy in words for a mismatch's detail: "none", its quorum as
   *  describePolicy says it, or why it cannot be read. */
  async function describeDocumentPolicy(data) {
    if (data === undefined || data === null) return "no witness policy";
    try {
      return describePolicy(await parseWitnessPolicy(data));
    } catch (error) {
      return "a malformed witness policy";
    }
  }

  /** What an Ed25519 cosignature/v1 signs: header, time line, the checkpoint text. */
  function cosignedMessage(checkpointText, timestamp) {
    return encoder.encode(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`);
  }

  /**
   * The policy witnesses' cosignatures on a signed note (audit/offline/cosignature.py
   * verified_cosignatures). A line whose name and key id are an Ed25519 policy witness's must
   * hold — never skipped; lines by other keys are ignored; an ML-DSA-44 witness's line cannot
   * be checked here and is not counted. `now`: the verifier's clock, POSIX seconds (BigInt).
   * Steps per matching line: (1) length, key id || u64 timestamp || 64-byte signature;
   * (2) Ed25519 over "cosignature/v1\ntime <T>\n" || text; (3) T at most 2^63 - 1 (the spec's
   * MUST) — a line failing (1) to (3) fails the note, cosignature_invalid;
   * (4) T is not 0 and at most MAX_CLOCK_SKEW s after `now`: otherwise the cosignature holds
   * but does not count (the spec lets a verifier reject *cosignatures* with future timestamps:
   * that cosignature, not the note, so one witness's clock cannot fail a checkpoint the others
   * cosigned). Each policy witness with no counted cosignature but such a line goes to
   * `ignored` (when given), once: {name, label, reason: "future_timestamp" | "no_timestamp",
   * timestamp (decimal), detail}.
   * Returns [{witness, timestamp}], one per witness; throws cosignature_invalid.
   */
  async function verifyCosignatures(signedNote, policy, now, ignored) {
    const { text, lines } = splitNote(signedNote);
    const found = new Map();
    const uncounted = new Map();
    for (const line of lines) {
      const witness = policy.witnesses.find((w) => w.key.name === line.name && equalBytes(w.key.keyId, line.keyId));
      if (!witness || !witness.key.verifiable) continue;
      const label = witness.key.label;
      // (1) a timestamp and a 64-byte signature
      if (line.signature.length !== ED25519_COSIGNATURE_SIZE) {
        const got = line.signature.length;
        throw new VerifyError("cosignature_invalid", `${label}: got ${got} bytes, want ${ED25519_COSIGNATURE_SIZE}`);
      }
      const timestamp = new DataView(line.signature.buffer, line.signature.byteOffset, 8).getBigUint64(0);
      // (2) the signature over the cosigned message
      if (!(await ed25519Verify(witness.key.publicKey, line.signature.slice(8), cosignedMessage(text, timestamp)))) {
        throw new VerifyError("cosignature_invalid", `${label}: does not verify over the checkpoint`);
      }
      // (3) the timestamp's bound (tlog-cosignature: it MUST NOT exceed 2^63 - 1)
      if (timestamp > MAX_TIMESTAMP) {
        throw new VerifyError("cosignature_invalid", `${label}: timestamp ${timestamp}, want at most 2^63 - 1`);
      }
      // (4) no time stated (tlog-witness: never zero) or ahead of this clock: not counted
      const why = uncountedBecause(timestamp, now);
      if (why) {
        if (!uncounted.has(witness.name)) {
          uncounted.set(witness.name, { name: witness.key.name, label, timestamp: timestamp.toString(), ...why });
        }
        continue;
      }
      if (!found.has(witness.name)) found.set(witness.name, { witness, timestamp });
    }
    if (Array.isArray(ignored)) {
      for (const [name, entry] of uncounted) if (!found.has(name)) ignored.push(entry);
    }
    return Array.from(found.values());
  }

  /** Why a valid cosignature with this timestamp does not count, or null (as
   *  audit/offline/cosignature.py _uncounted): {reason, detail}. */
  function uncountedBecause(timestamp, now) {
    if (timestamp === 0n) {
      return { reason: "no_timestamp", detail: "timestamp 0 (a witness must say when it cosigned)" };
    }
    if (timestamp > now + MAX_CLOCK_SKEW) {
      const ahead = timestamp - now;
      return {
        reason: "future_timestamp",
        detail: `timestamp ${timestamp}, ${ahead} s in the future (at most ${MAX_CLOCK_SKEW} s counts)`,
      };
    }
    return null;
  }

  /**
   * The witness check of a document (step 3b): the policy — the auditor's pinned witness keys
   * and threshold where given, else the one the page shows (`trustedInput.witnessPolicy`,
   * the section's data-witness-policy), which the document's `keys.witnesses` must equal
   * (else witness_policy_mismatch: a document never weakens it, nor drops it) — its witnesses'
   * cosignatures on the checkpoint, and its quorum. Never throws: a result {ok, source: "page"
   * or "pinned", quorum, cosigned: [key names], ignored: [{name, label, reason, timestamp,
   * detail}], unverifiable: [key names], code?, detail?}.
   */
  async function checkWitnesses(signedNote, documentPolicy, trustedInput, now) {
    const pinnedKeys = Array.isArray(trustedInput.witnessKeys) ? trustedInput.witnessKeys : [];
    const threshold = trustedInput.witnessThreshold;
    const pinned = pinnedKeys.length > 0 || (threshold !== null && threshold !== undefined && threshold !== "");
    const result = {
      ok: false,
      source: pinned ? "pinned" : "page",
      quorum: null,
      cosigned: [],
      ignored: [],
      unverifiable: [],
    };
    try {
      const pagePolicy = trustedInput.witnessPolicy;
      if (!pinned && (!pagePolicy || typeof pagePolicy !== "object")) {
        // the page always renders its policy; without it nothing says what the quorum is
        throw new VerifyError("witness_policy_malformed", "the page shows no witness policy (data-witness-policy)");
      }
      const data = pinned ? kOfN(pinnedKeys, threshold) : pagePolicy;
      const policy = await parseWitnessPolicy(data);
      result.quorum = describePolicy(policy);
      result.unverifiable = policy.witnesses.filter((w) => !w.key.verifiable).map((w) => w.key.name);
      if (!pinned) {
        const differ = policyDifferences(documentPolicy, pagePolicy);
        if (differ.length) {
          const got = await describeDocumentPolicy(documentPolicy);
          throw new VerifyError(
            "witness_policy_mismatch",
            `the document's witness policy differs from the page's (${differ.join(", ")}): got ${got}, want ${result.quorum}`,
          );
        }
      }
      const ignored = [];
      const cosignatures = await verifyCosignatures(signedNote, policy, now, ignored);
      result.cosigned = cosignatures.map((c) => c.witness.key.name);
      result.ignored = ignored;
      if (!quorumMet(policy, new Set(cosignatures.map((c) => c.witness.name)))) {
        const got = cosignatures.map((c) => c.witness.key.label).join(", ") || "none";
        const notCounted = ignored.length ? "; not counted: " + ignored.map((i) => `${i.label}: ${i.detail}`).join("; ") : "";
        throw new VerifyError("witness_quorum", `valid cosignatures by ${got}, want ${result.quorum}${notCounted}`);
      }
      result.ok = true;
    } catch (error) {
      Object.assign(result, failure(error));
    }
    return result;
  }

  // --- the whole document -----------------------------------------------------------------------
  /** Trusted keys: the log's verifier key and the event keys (base64), each key id derived. */
  async function trustedKeysFrom(logKey, eventKeys) {
    const log = await parseVerifierKey(logKey);
    const events = new Map();
    for (const text of eventKeys) {
      let key;
      try {
        key = fromBase64(text);
      } catch (error) {
        throw new VerifyError("event_key_malformed", error.detail);
      }
      if (key.length !== 32) throw new VerifyError("event_key_malformed", "got a " + key.length + "-byte key, want 32");
      events.set(await eventKeyId(key), key);
    }
    return { log, events };
  }

  /** Split pasted or configured event keys (spaces, commas or newlines between them). */
  function splitKeys(text) {
    return String(text || "").split(/[\s,]+/).filter(Boolean);
  }

  function failure(error) {
    if (error instanceof VerifyError) return { code: error.code, detail: error.detail };
    return { code: "internal", detail: String((error && error.message) || error) };
  }

  /** Does the document name keys the page does not trust? (It never chooses them.) */
  async function compareKeys(documentKeys, trusted) {
    const problems = [];
    const keys = documentKeys || {};
    const log = trusted.log;
    const logKey = `${log.name}+${toHex(log.keyId)}+${toBase64(concat(Uint8Array.of(1), log.publicKey))}`;
    if (String(keys.log_key || "").trim() !== logKey) {
      problems.push("log key " + JSON.stringify(keys.log_key));
    }
    for (const text of keys.event_keys || []) {
      let id = null;
      try {
        const key = fromBase64(text);
        id = await eventKeyId(key);
        if (trusted.events.has(id) && equalBytes(trusted.events.get(id), key)) continue;
      } catch (error) {
        /* reported below */
      }
      problems.push("event key " + (id || JSON.stringify(text)));
    }
    return problems;
  }

  /**
   * Verify a verification document (api/web/verification.py) against trusted keys
   * ({logKey: string, eventKeys: [base64], witnessPolicy: the page's policy as data
   * (configured_keys' `witnesses`), witnessKeys?: [vkey], witnessThreshold?: K}).
   * Steps (docs/browser-verification.md):
   *   (1) the trusted keys; (2) the document's keys against them; (3) the checkpoint;
   *   (3b) its witness cosignatures against the witness policy (pinned, else the page's, which
   *   the document's must equal);
   *   then per event (4) its place (this product, versions 1, 2, ... in log order),
   *   (5) its log leaf hash, (6) its inclusion proof against the checkpoint's root,
   *   (7) its own signature, for events whose bytes the caller may read.
   * Returns a report; never throws for a failed check.
   */
  async function verifyDocument(doc, trustedInput, lang) {
    const report = {
      ok: false,
      lang: lang === "en" ? "en" : "zh",
      keys: null,
      checkpoint: null,
      witnesses: null,
      index: null,
      events: [],
      pending: [],
    };
    if (!doc || typeof doc !== "object" || !Array.isArray(doc.events)) {
      report.keys = { ok: false, ...failure(new VerifyError("document_malformed", "want an object with events")) };
      return finish(report);
    }
    report.pending = Array.isArray(doc.pending) ? doc.pending.slice() : [];
    // (1) trusted keys, as the page was configured (or an auditor pasted them)
    let trusted;
    try {
      trusted = await trustedKeysFrom(trustedInput.logKey, trustedInput.eventKeys);
    } catch (error) {
      report.keys = { ok: false, ...failure(error) };
      return finish(withUnchecked(report, doc));
    }
    // (2) the document's keys: reported, never used
    const differ = await compareKeys(doc.keys, trusted);
    report.keys = differ.length ? { ok: false, code: "keys_differ", detail: differ.join(", ") } : { ok: true };
    // (3) the checkpoint: signed by the trusted log key, of the log that key names
    let checkpoint;
    try {
      checkpoint = await verifyCheckpoint(doc.checkpoint, trusted.log);
      report.checkpoint = { ok: true, origin: checkpoint.origin, size: checkpoint.size.toString() };
    } catch (error) {
      report.checkpoint = { ok: false, ...failure(error) };
      return finish(withUnchecked(report, doc));
    }
    // (3b) the witnesses: without the policy's quorum the checkpoint may be a split view, so
    // the report fails; the events are still checked against it
    const documentPolicy = doc.keys && typeof doc.keys === "object" ? doc.keys.witnesses : undefined;
    const now = BigInt(Math.floor(Date.now() / 1000));
    report.witnesses = await checkWitnesses(doc.checkpoint, documentPolicy, trustedInput, now);
    let previousLeaf = -1;
    for (const [position, event] of doc.events.entries()) {
      const row = {
        originator_id: String(event && event.originator_id),
        version: event && event.version,
        leaf_index: event && event.leaf_index,
        event: typeof (event && event.topic) === "string" ? event.topic.split(".").pop() : null,
        content: event && event.content === "visible" ? "visible" : "confidential",
        failures: [],
      };
      try {
        // (4) this product's event, versions 1, 2, ... each later in the log than the last
        if (event.originator_id !== doc.product_id || event.version !== position + 1) {
          const [got, want] = [`${event.originator_id} v${event.version}`, `${doc.product_id} v${position + 1}`];
          throw new VerifyError("event_misplaced", `got ${got}, want ${want}`);
        }
        if (!Number.isSafeInteger(event.leaf_index) || event.leaf_index <= previousLeaf) {
          const got = `leaf ${event.leaf_index} after leaf ${previousLeaf}`;
          throw new VerifyError("event_misplaced", `${got}, want a later one`);
        }
        previousLeaf = event.leaf_index;
        // (5) the leaf: hashed from the stored bytes where readable, else the log's leaf hash
        let stored = null;
        let leaf;
        if (row.content === "visible") {
          stored = fromBase64(event.state);
          leaf = await leafHash(logLeafData(event.originator_id, event.version, event.topic, stored));
        } else {
          leaf = fromBase64(event.leaf_hash);
        }
        // (6) inclusion in the tree the checkpoint signed
        const proof = (Array.isArray(event.proof) ? event.proof : []).map(fromBase64);
        try {
          await verifyInclusion(event.leaf_index, checkpoint.size, leaf, proof, checkpoint.root);
        } catch (error) {
          row.failures.push(failure(error));
        }
        // (7) the event's own signature (docs/event-signatures.md "Verifying one event")
        if (stored !== null) {
          try {
            await verifyEventSignature(event.originator_id, event.version, event.topic, stored, trusted.events);
          } catch (error) {
            row.failures.push(failure(error));
          }
        }
      } catch (error) {
        row.failures.push(failure(error));
      }
      row.status = row.failures.length ? "failed" : row.content === "visible" ? "verified" : "in_log";
      report.events.push(row);
    }
    // (8) the product index: this product holds its key, and its trail is the one shown
    report.index = await checkIndex(doc, trusted, checkpoint.size);
    return finish(report);
  }

  function withUnchecked(report, doc) {
    for (const event of doc.events) {
      report.events.push({
        originator_id: String(event && event.originator_id),
        version: event && event.version,
        leaf_index: event && event.leaf_index,
        event: null,
        content: event && event.content,
        failures: [],
        status: "unchecked",
      });
    }
    return report;
  }

  function finish(report) {
    const messages = MESSAGES[report.lang];
    const reason = (f) => messages.codes[f.code] + (f.detail ? ` (${f.detail})` : "");
    const line = (check, ok) => (check.ok ? ok : reason(check));
    report.keys.message = line(report.keys, messages.keys_ok);
    if (report.checkpoint) report.checkpoint.message = line(report.checkpoint, messages.checkpoint_ok(report.checkpoint));
    if (report.witnesses) {
      const w = report.witnesses;
      const outcome = w.ok ? messages.witnesses_ok(w) : messages.witnesses_failed(w) + reason(w) + messages.stop;
      w.message = outcome + messages.ignored(w.ignored || []) + messages.unverifiable(w.unverifiable);
    }
    if (report.index) {
      const i = report.index;
      i.message = i.ok ? messages.index_ok(i) : messages.index_failed + reason(i);
    }
    for (const row of report.events) {
      const outcome = row.status === "failed" ? messages.failed + row.failures.map(reason).join("; ") : messages[row.status];
      row.message = messages.event(row) + outcome;
    }
    const checked = report.events.every((row) => row.status !== "failed" && row.status !== "unchecked");
    const witnessed = Boolean(report.witnesses && report.witnesses.ok);
    const indexed = Boolean(report.index && report.index.ok);
    report.ok = Boolean(report.keys.ok && report.checkpoint && report.checkpoint.ok && witnessed && checked && indexed);
    const failedChecks = [report.keys, report.checkpoint, report.witnesses, report.index].filter(
      (check) => check && !check.ok,
    ).length;
    const failed = failedChecks + report.events.filter((row) => row.status === "failed").length;
    report.summary = report.ok ? messages.all_ok(report.events.length, report.checkpoint.size) : messages.some_failed(failed);
    return report;
  }

  // --- messages (zh, en) ------------------------------------------------------------------------
  const ZH_SOURCE = { pinned: "您填写的见证策略", page: "本页的见证策略" };
  const EN_SOURCE = { pinned: "your witness policy", page: "this page's witness policy" };
  const ZH_UNCOUNTED = { future_timestamp: "时间戳在未来", no_timestamp: "没有时间戳" };
  const EN_UNCOUNTED = { future_timestamp: "timestamp in the future", no_timestamp: "no timestamp" };
  const MESSAGES = {
    zh: {
      event: (row) => "记录 " + row.originator_id + " 第 " + row.version + " 版（日志叶 " + row.leaf_index + "）：",
      verified: "已验证——在日志中，事件签名有效",
      in_log: "在日志中；内容与签名可由备案单位、其所在地区或平台核验",
      unchecked: "未检查：检查点或密钥未通过验证",
      failed: "验证失败——",
      keys_ok: "文档中的公钥与本页配置的公钥一致。",
      checkpoint_ok: (c) => "检查点已验证：日志 " + c.origin + "，共 " + c.size + " 个叶，日志签名有效。",
      witnesses_ok: (w) =>
        w.quorum === "none"
          ? "见证：" + ZH_SOURCE[w.source] + "不要求见证者联署。"
          : "见证联署满足要求（" + ZH_SOURCE[w.source] + "：" + w.quorum + "）：" + w.cosigned.join("、") + " 的联署有效。",
      witnesses_failed: (w) =>
        "见证联署未满足要求（" + ZH_SOURCE[w.source] + "：" + (w.quorum || "—") + "；有效联署：" +
        (w.cosigned.join("、") || "无") + "）——",
      ignored: (entries) =>
        entries.length
          ? "未计入要求的联署：" + entries.map((i) => i.label + "（" + ZH_UNCOUNTED[i.reason] + "）").join("、") + "。"
          : "",
      unverifiable: (names) =>
        names.length ? "ML-DSA-44 见证者 " + names.join("、") + " 的联署无法在浏览器中核验（WebCrypto 不支持 ML-DSA），不计入要求；请用 ppl audit verify 核验。" : "",
      index_ok: (i) =>
        "产品索引已验证：在 " + i.size + " 个叶的检查点，本产品持有其产品键（键规则 v" + i.rule + "），索引列出的 " + i.events +
        " 个事件正是本页所示" + (i.filings > 1 ? "；该键共有 " + i.filings + " 个备案（之前的已撤回后重新备案）" : "") + "。",
      index_failed: "产品索引验证失败——",
      all_ok: (n, size) => "全部通过：" + n + " 个事件均包含在已签名的检查点（" + size + " 个叶）中。",
      some_failed: (k) => "验证未通过：" + k + " 项检查失败，详见下列各行。",
      pending: (versions) => "第 " + versions.join("、") + " 版尚未纳入已签名的检查点，请稍后再验证。",
      stop: "。",
      running: "正在验证……",
      run_failed: "无法完成验证：",
      codes: {
        bad_encoding: "编码无效",
        document_malformed: "验证文档格式无效",
        log_key_malformed: "日志验证公钥格式无效",
        event_key_malformed: "事件签名公钥格式无效",
        keys_differ: "文档中的公钥与本页配置的公钥不一致",
        note_malformed: "签名注记（signed note）格式无效",
        note_unverified: "检查点没有受信任日志密钥的签名",
        note_bad_signature: "检查点的日志签名无效",
        checkpoint_malformed: "检查点正文格式无效",
        checkpoint_origin: "检查点属于另一个日志",
        proof_malformed: "包含证明格式无效",
        root_mismatch: "包含证明得出的根哈希与检查点不符",
        event_malformed: "存储的事件格式无效",
        event_unknown_key: "事件由不受信任的密钥签名",
        event_bad_signature: "事件签名无效，存储的字节已被改动",
        event_misplaced: "事件不属于本产品，或版本顺序不符",
        witness_key_malformed: "见证者公钥格式无效",
        witness_policy_malformed: "见证策略格式无效",
        witness_policy_mismatch: "文档中的见证策略与本页显示的见证策略不一致",
        cosignature_invalid: "见证者的联署无效",
        witness_quorum: "检查点缺少见证策略要求的有效联署",
        fetch_failed: "无法获取验证文档",
        no_webcrypto: "此浏览器不支持 WebCrypto（SHA-256、Ed25519）",
        index_missing: "文档没有产品索引证明",
        index_note: "产品索引注记无效，或不属于其检查点",
        index_proof: "产品键的索引证明不成立",
        index_value: "索引中的值不是本产品的",
        index_trail: "索引列出的事件与本页所示不一致",
        internal: "验证程序出错",
      },
    },
    en: {
      event: (row) => "Record " + row.originator_id + ", version " + row.version + " (leaf " + row.leaf_index + "): ",
      verified: "verified — in the log, its signature valid",
      in_log: "in the log; contents and signature verifiable by the filer, its region or the platform",
      unchecked: "not checked: the checkpoint or the keys did not verify",
      failed: "FAILED — ",
      keys_ok: "The document's keys are the keys this page is configured with.",
      checkpoint_ok: (c) => "Checkpoint verified: log " + c.origin + ", " + c.size + " leaves, signed by the log key.",
      witnesses_ok: (w) =>
        w.quorum === "none"
          ? "Witnesses: " + EN_SOURCE[w.source] + " requires no witness cosignature."
          : "Witness quorum met (" + EN_SOURCE[w.source] + ": " + w.quorum + "): valid cosignatures by " +
            w.cosigned.join(", ") + ".",
      witnesses_failed: (w) =>
        "Witness quorum not met (" + EN_SOURCE[w.source] + ": " + (w.quorum || "—") + "; valid cosignatures by " +
        (w.cosigned.join(", ") || "none") + ") — ",
      ignored: (entries) =>
        entries.length
          ? " Not counted: " + entries.map((i) => i.label + " (" + EN_UNCOUNTED[i.reason] + ")").join(", ") + "."
          : "",
      unverifiable: (names) =>
        names.length
          ? " ML-DSA-44 witnesses cannot be checked in the browser (WebCrypto has no ML-DSA) and do not count: " +
            names.join(", ") + "; check them with ppl audit verify."
          : "",
      index_ok: (i) =>
        "Product index verified: at the checkpoint of " + i.size + " leaves this product holds its product key (key rule v" +
        i.rule + "), and the index lists exactly the " + i.events + " events shown" +
        (i.filings > 1 ? "; " + i.filings + " filings have had this key (earlier ones withdrawn and filed again)" : "") + ".",
      index_failed: "Product index FAILED — ",
      all_ok: (n, size) => "All passed: " + n + " events are in the signed checkpoint of " + size + " leaves.",
      some_failed: (k) => "Verification failed: " + k + " checks did not pass; see the rows below.",
      pending: (versions) => "Not under a signed checkpoint yet: version " + versions.join(", ") + "; verify again shortly.",
      stop: ".",
      running: "Verifying…",
      run_failed: "Could not verify: ",
      codes: {
        bad_encoding: "bad encoding",
        document_malformed: "the verification document is malformed",
        log_key_malformed: "the log verifier key is malformed",
        event_key_malformed: "an event-signing key is malformed",
        keys_differ: "the document names keys this page is not configured with",
        note_malformed: "the signed note is malformed",
        note_unverified: "the checkpoint has no signature by the trusted log key",
        note_bad_signature: "the checkpoint's log signature does not verify",
        checkpoint_malformed: "the checkpoint text is malformed",
        checkpoint_origin: "the checkpoint is another log's",
        proof_malformed: "the inclusion proof is malformed",
        root_mismatch: "the inclusion proof leads to another root than the checkpoint's",
        event_malformed: "the stored event is malformed",
        event_unknown_key: "the event is signed by a key that is not trusted",
        event_bad_signature: "the event's signature does not verify: its stored bytes changed",
        event_misplaced: "the event is not this product's, or out of order",
        witness_key_malformed: "a witness key is malformed",
        witness_policy_malformed: "the witness policy is malformed",
        witness_policy_mismatch: "the document's witness policy is not the one this page shows",
        cosignature_invalid: "a witness's cosignature does not hold",
        witness_quorum: "the checkpoint lacks the valid cosignatures the witness policy requires",
        fetch_failed: "the verification document could not be fetched",
        no_webcrypto: "this browser lacks WebCrypto (SHA-256, Ed25519)",
        index_missing: "the document carries no product-index proof",
        index_note: "the product-index note is malformed or not of its checkpoint",
        index_proof: "the product key's index proof does not hold",
        index_value: "the indexed value is not this product's",
        index_trail: "the events the index lists are not the ones shown",
        internal: "the verifier failed",
      },
    },
  };

  // ===== Part 2: the page =======================================================================
  /** Fetch the document, same origin only (the page's connect-src is 'self' too). */
  async function fetchDocument(url) {
    const target = new URL(url, root.location.href);
    if (target.origin !== root.location.origin) {
      throw new VerifyError("fetch_failed", "not the page's origin: " + target.origin);
    }
    const response = await root.fetch(target.href, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      let detail = "";
      try {
        detail = (await response.json()).detail || "";
      } catch (error) {
        /* not a problem document */
      }
      throw new VerifyError("fetch_failed", "HTTP " + response.status + (detail ? ": " + detail : ""));
    }
    return response.json();
  }

  /** The keys to trust: an auditor's pasted ones where given, else the page's configured;
   *  the page's witness policy (data-witness-policy, JSON; unreadable: none, which fails the
   *  witness check) and witness keys (and K) an auditor pasted, which replace it. */
  function trustedInputOf(section) {
    const pastedLog = section.querySelector("#verify-log-key");
    const pastedEvents = section.querySelector("#verify-event-keys");
    const pastedWitnesses = section.querySelector("#verify-witness-keys");
    const pastedThreshold = section.querySelector("#verify-witness-threshold");
    const logKey = pastedLog && pastedLog.value.trim() ? pastedLog.value.trim() : section.dataset.logKey;
    const eventKeys = splitKeys(pastedEvents && pastedEvents.value.trim() ? pastedEvents.value : section.dataset.eventKeys);
    // vkeys hold no white space; a key name may hold a comma, so split on white space only
    const witnessKeys = String((pastedWitnesses && pastedWitnesses.value) || "").split(/\s+/).filter(Boolean);
    const threshold = pastedThreshold ? pastedThreshold.value.trim() : "";
    let witnessPolicy = null;
    try {
      witnessPolicy = JSON.parse(section.dataset.witnessPolicy);
    } catch (error) {
      /* no readable policy on the page: checkWitnesses fails (witness_policy_malformed) */
    }
    return { logKey, eventKeys, witnessPolicy, witnessKeys, witnessThreshold: threshold || null };
  }

  function cell(document, tag, text) {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  function render(section, report) {
    const document = section.ownerDocument;
    const messages = MESSAGES[report.lang];
    const checks = section.querySelector("#verify-checks");
    const body = section.querySelector("#verify-results tbody");
    const named = { keys: report.keys, checkpoint: report.checkpoint, witnesses: report.witnesses, index: report.index };
    const lines = Object.entries(named)
      .filter(([, check]) => check)
      .map(([name, check]) => {
        const item = cell(document, "li", check.message);
        item.className = check.ok ? "verify-ok" : "verify-failed";
        item.dataset.check = name;
        return item;
      });
    if (report.pending.length) {
      const item = cell(document, "li", messages.pending(report.pending));
      item.className = "verify-pending";
      item.dataset.check = "pending";
      lines.push(item);
    }
    checks.replaceChildren(...lines);
    body.replaceChildren(
      ...report.events.map((row) => {
        const tr = document.createElement("tr");
        tr.className = "verify-" + row.status;
        tr.dataset.version = String(row.version);
        tr.append(
          cell(document, "td", row.originator_id),
          cell(document, "td", String(row.version)),
          cell(document, "td", String(row.leaf_index)),
          cell(document, "td", row.event || "—"),
          cell(document, "td", row.message),
        );
        return tr;
      }),
    );
    const summary = section.querySelector("#verify-summary");
    summary.textContent = report.summary;
    summary.className = report.ok ? "verify-ok" : "verify-failed";
  }

  async function run(section, button) {
    const lang = section.dataset.lang === "en" ? "en" : "zh";
    const messages = MESSAGES[lang];
    const summary = section.querySelector("#verify-summary");
    button.disabled = true;
    section.setAttribute("aria-busy", "true");
    section.dataset.state = "running";
    summary.className = "";
    summary.textContent = messages.running;
    try {
      const doc = await fetchDocument(section.dataset.url);
      const report = await verifyDocument(doc, trustedInputOf(section), lang);
      render(section, report);
      section.dataset.state = report.ok ? "passed" : "failed";
    } catch (error) {
      const f = failure(error);
      section.dataset.state = "failed";
      summary.className = "verify-failed";
      summary.textContent = messages.run_failed + messages.codes[f.code] + (f.detail ? " (" + f.detail + ")" : "");
    } finally {
      button.disabled = false;
      section.removeAttribute("aria-busy");
    }
  }

  /** Wire the section's button once the page is parsed (the script is loaded with defer),
   *  once even if the script is loaded twice. */
  function install(document) {
    const start = () => {
      const section = document.getElementById("verification");
      const button = section && section.querySelector("#verify-run");
      if (!button || section.dataset.state) return;
      section.dataset.state = "ready";
      button.addEventListener("click", () => run(section, button));
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }

  return {
    VerifyError,
    MESSAGES,
    toHex,
    fromHex,
    toBase64,
    fromBase64,
    sha256,
    leafHash,
    nodeHash,
    inclusionProofLength,
    rootFromInclusionProof,
    verifyInclusion,
    eventLeafData,
    logLeafData,
    saveSigningMessage,
    eventKeyId,
    parseEnvelope,
    verifyEventSignature,
    noteKeyId,
    parseVerifierKey,
    openNote,
    parseCheckpoint,
    verifyCheckpoint,
    splitNote,
    parseCosignerKey,
    parseWitnessPolicy,
    kOfN,
    describePolicy,
    quorumMet,
    policyDifferences,
    verifyCosignatures,
    checkWitnesses,
    COSIGNATURE_LIMITS: { maxTimestamp: MAX_TIMESTAMP.toString(), maxClockSkew: Number(MAX_CLOCK_SKEW) },
    trustedKeysFrom,
    splitKeys,
    verifyDocument,
    mapPath,
    decodeMapProof,
    verifyMapPresence,
    parseIndexNote,
    checkIndex,
    install,
  };
});
