// Verify a Corridor log receipt in the browser, trusting nothing the server says except
// what the log's public key (which you can check out of band) signed.
//
// Steps: map the event onto its entry document (as captured or as GET returns it, see
// entryDocument), canonicalise it (RFC 8785) and hash it (SHA-256) -> rebuild the log
// entry (corridor/entry/v1) -> leaf hash (RFC 9162: SHA-256(0x00 || entry)) -> walk the
// inclusion proof of the receipt (C2SP tlog-proof) to a root -> compare with the root of the
// checkpoint in the receipt -> check the checkpoint's Ed25519 signature with the log key,
// and witness cosignatures (tlog-cosignature/v1) with the witness keys.
"use strict";

(function () {
  const enc = new TextEncoder();

  function b64decode(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function concat(...parts) {
    const size = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // RFC 8785: ECMAScript number and string serialisation, keys sorted by UTF-16 code units
  // (the default order of Array.prototype.sort on strings).
  function jcs(value) {
    if (value === null || typeof value !== "object") {
      if (typeof value === "number" && !isFinite(value)) throw new Error("non-finite number");
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + jcs(value[k])).join(",") + "}";
  }

  // The entry document (docs/ledger-entry-format.md): the event as captured, plus the
  // eventID the node assigns (its Event Hash ID) when it had none; the node's recordTime is
  // not in it (the entry's time line holds it). So an event as captured (no eventID) or as
  // GET /epcis/events/{id} returns it (with recordTime) verifies, and every member it holds
  // is still checked: by the digest, or against the entry's own lines.
  const TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

  function instant(text) {
    const m = TIME.exec(text);
    if (!m) return null;
    const n = m.slice(1, 7).map(Number);
    const date = new Date(Date.UTC(n[0], n[1] - 1, n[2], n[3], n[4], n[5]));
    if (date.getUTCFullYear() !== n[0] || date.getUTCMonth() !== n[1] - 1 ||
        date.getUTCDate() !== n[2] || date.getUTCHours() !== n[3] ||
        date.getUTCMinutes() !== n[4] || date.getUTCSeconds() !== n[5]) return null;
    let offset = 0;
    if (m[9]) {
      offset = (Number(m[10]) * 60 + Number(m[11])) * (m[9] === "-" ? -1 : 1);
      if (Number(m[10]) > 23 || Number(m[11]) > 59) return null;
    }
    return { seconds: date.getTime() / 1000 - offset * 60, fraction: m[7] || "" };
  }

  // The entry's record time, written with the same or fewer fraction digits (truncated).
  function sameRecordTime(value, entryTime) {
    if (typeof value !== "string") return false;
    const mine = instant(value), theirs = instant(entryTime);
    if (!mine || !theirs || mine.seconds !== theirs.seconds) return false;
    return theirs.fraction.padEnd(9, "0").startsWith(mine.fraction.replace(/0+$/, ""));
  }

  function without(obj, name) {
    const out = Object.assign({}, obj);
    delete out[name];
    return out;
  }

  // The forms the event may stand for, the literal one first, each with its notes.
  function candidates(event, logged) {
    const forms = [{ doc: event, notes: [] }];
    if (!event.eventID) {
      forms.push({ doc: Object.assign({}, event, { eventID: logged.eventHashId }),
        notes: ["eventID taken from the entry (the Event Hash ID the node assigns)"] });
    }
    if (sameRecordTime(event.recordTime, logged.recordTime)) {
      for (const f of forms.slice()) {
        forms.push({ doc: without(f.doc, "recordTime"), notes: f.notes.concat(
          ["recordTime left out: the node's record time, which the entry's time line holds"]) });
      }
    }
    return forms;
  }

  async function entryDocument(event, logged) {
    for (const form of candidates(event, logged)) {
      const digest = await sha256(enc.encode(jcs(form.doc)));
      if (logged.doc === "sha-256:" + hex(digest)) return Object.assign({ digest }, form);
    }
    return null;
  }

  // Which member differs, when a match proves it; the entry holds one digest, not values.
  async function explain(event, logged) {
    if ("recordTime" in event && await entryDocument(without(event, "recordTime"), logged)) {
      return "recordTime " + event.recordTime + " differs from the record time the entry " +
        "holds, " + logged.recordTime;
    }
    if (event.eventID &&
        await entryDocument(Object.assign({}, event, { eventID: logged.eventHashId }), logged)) {
      return "eventID " + event.eventID + " differs from the eventID the node assigned, " +
        logged.eventHashId;
    }
    for (const name of Object.keys(event)) {
      if (name !== "eventID" && name !== "recordTime" &&
          await entryDocument(without(event, name), logged)) {
        return "member " + name + " is not in the logged event";
      }
    }
    return "a member was changed, added or removed; the entry holds one digest of the " +
      "whole document, so it cannot tell which";
  }

  // The event of a pasted text: one event (its "@context" only names namespaces), or the
  // EPCIS document GET /epcis/events/{id} returns, whose event with the logged digest is it.
  async function eventOf(value, logged) {
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw new Error("expected a JSON object (an EPCIS event)");
    }
    if (value.type !== "EPCISDocument" && value.type !== "EPCISQueryDocument") {
      return without(value, "@context");
    }
    const body = value.epcisBody || {};
    const list = value.type === "EPCISDocument" ? body.eventList
      : ((body.queryResults || {}).resultsBody || {}).eventList;
    if (!Array.isArray(list)) throw new Error("the document has no event list");
    for (const e of list) if (logged && await entryDocument(e, logged)) return e;
    if (list.length === 1) return list[0];
    throw new Error("none of the document's " + list.length + " events is the logged one");
  }

  function entryBytes(entry, docDigest) {
    let text = "corridor/entry/v1\n" +
      "event " + entry.eventHashId + "\n" +
      "doc sha-256:" + hex(docDigest) + "\n" +
      "party " + entry.party + "\n" +
      "time " + entry.recordTime + "\n";
    if (entry.signature) text += "sig " + entry.signature + "\n";
    return enc.encode(text);
  }

  // The receipt's extra data is the log entry (corridor/entry/v1). It is not trusted: only
  // its fields other than the document digest are used, and those are bound by the proof.
  function parseEntry(bytes) {
    const fields = {};
    const text = new TextDecoder().decode(bytes);
    const lines = text.split("\n");
    if (lines[0] !== "corridor/entry/v1") throw new Error("receipt extra: not a corridor/entry/v1");
    for (const line of lines.slice(1)) {
      const sp = line.indexOf(" ");
      if (sp > 0) fields[line.slice(0, sp)] = line.slice(sp + 1);
    }
    return { eventHashId: fields.event, party: fields.party, recordTime: fields.time,
      signature: fields.sig || null, doc: fields.doc };
  }

  function parseReceipt(text) {
    const lines = text.split("\n");
    if (lines[0] !== "c2sp.org/tlog-proof@v1") throw new Error("not a c2sp.org/tlog-proof@v1");
    let i = 1;
    let extra = null;
    if (lines[i].startsWith("extra ")) { extra = b64decode(lines[i].slice(6)); i++; }
    const m = /^index (0|[1-9][0-9]*)$/.exec(lines[i]);
    if (!m) throw new Error("receipt line " + (i + 1) + ": expected 'index N'");
    const index = Number(m[1]);
    i++;
    const proof = [];
    while (i < lines.length && lines[i] !== "") {
      const h = b64decode(lines[i]);
      if (h.length !== 32) throw new Error("receipt line " + (i + 1) + ": not a SHA-256 hash");
      proof.push(h);
      i++;
    }
    const note = lines.slice(i + 1).join("\n");
    return { index, proof, extra, note: parseNote(note) };
  }

  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("checkpoint has no signature block");
    const text = note.slice(0, split + 1);
    const body = text.split("\n");
    const sigs = note.slice(split + 2).split("\n").filter((l) => l.length > 0).map((line) => {
      if (!line.startsWith("\u2014 ")) throw new Error("bad signature line: " + line);
      const [name, b64] = line.slice(2).split(" ");
      const blob = b64decode(b64);
      const keyId = ((blob[0] << 24) >>> 0) + (blob[1] << 16) + (blob[2] << 8) + blob[3];
      return { name, keyId, sig: blob.slice(4) };
    });
    return {
      text: enc.encode(text), origin: body[0], size: Number(body[1]),
      root: b64decode(body[2]), signatures: sigs,
    };
  }

  function parseVkey(vkey) {
    // name+hexid+base64: split at the first two '+' only (base64 may contain '+').
    const text = vkey.trim();
    const a = text.indexOf("+");
    const b = a < 0 ? -1 : text.indexOf("+", a + 1);
    if (a <= 0 || b < 0) throw new Error("verifier key: expected name+hexid+base64");
    const parts = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
    if (!/^[0-9a-f]{8}$/.test(parts[1])) throw new Error("verifier key: bad key id");
    const raw = b64decode(parts[2]);
    if (raw.length !== 33) throw new Error("verifier key " + parts[0] + ": not an Ed25519 key");
    return { name: parts[0], keyId: parseInt(parts[1], 16), alg: raw[0], pub: raw.slice(1) };
  }

  async function ed25519(pub, sig, msg) {
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false,
      ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, sig, msg);
  }

  // A signature by this key on the note: true, false (present but invalid), null (absent).
  async function checkSignature(note, vkey) {
    const k = parseVkey(vkey);
    const sig = note.signatures.find((s) => s.name === k.name && s.keyId === k.keyId);
    if (!sig) return { ok: null, name: k.name };
    if (k.alg === 0x04) {
      if (sig.sig.length !== 72) return { ok: false, name: k.name };
      let stamp = 0n;
      for (let i = 0; i < 8; i++) stamp = (stamp << 8n) + BigInt(sig.sig[i]);
      const msg = concat(enc.encode("cosignature/v1\ntime " + stamp.toString() + "\n"),
        note.text);
      return { ok: await ed25519(k.pub, sig.sig.slice(8), msg), name: k.name,
        time: Number(stamp) };
    }
    return { ok: await ed25519(k.pub, sig.sig, note.text), name: k.name };
  }

  // RFC 9162 section 2.1.3.2.
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) throw new Error("index " + index + " is outside the tree");
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) throw new Error("inclusion proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat(Uint8Array.of(1), p, r));
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await sha256(concat(Uint8Array.of(1), r, p));
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("inclusion proof is too short");
    return r;
  }

  // Returns {ok, steps: [{label, ok, detail}]}; never throws.
  async function verifyEvent({ eventJson, entry, receipt, logVkey, witnessVkeys, quorum }) {
    const steps = [];
    const step = (label, ok, detail) => { steps.push({ label, ok, detail: detail || "" }); return ok; };
    try {
      if (!crypto.subtle) throw new Error("WebCrypto is not available (use https or localhost)");
      const r = parseReceipt(receipt);
      const logged = r.extra ? parseEntry(r.extra) : null;
      const event = await eventOf(JSON.parse(eventJson), logged);
      let digest = await sha256(enc.encode(jcs(event)));
      if (logged) {
        const found = await entryDocument(event, logged);
        if (!found) {
          step("Event digest (RFC 8785 JSON, SHA-256)", true, hex(digest));
          return { ok: step("Event digest matches the logged entry", false,
            (await explain(event, logged)) + " (logged " + logged.doc + ")"), steps };
        }
        digest = found.digest;
        step("Event digest (RFC 8785 JSON, SHA-256)", true,
          [hex(digest)].concat(found.notes).join("; "));
        if (logged.eventHashId !== entry.eventHashId) {
          return { ok: step("Event Hash ID matches the logged entry", false,
            "logged " + logged.eventHashId), steps };
        }
        entry = Object.assign({}, entry, { party: logged.party, recordTime: logged.recordTime,
          signature: logged.signature });
      } else {
        step("Event digest (RFC 8785 JSON, SHA-256)", true, hex(digest));
      }
      const leaf = await sha256(concat(Uint8Array.of(0), entryBytes(entry, digest)));
      step("Log entry leaf hash", true, hex(leaf));
      if (r.index !== entry.logIndex) {
        return { ok: step("Receipt is for this log index", false,
          "receipt index " + r.index + ", event index " + entry.logIndex), steps };
      }
      const root = await rootFromInclusion(r.index, r.note.size, leaf, r.proof);
      if (!step("Inclusion proof leads to the checkpoint root", equal(root, r.note.root),
        "index " + r.index + " of " + r.note.size + ", " + r.proof.length + " hashes")) {
        return { ok: false, steps };
      }
      const log = await checkSignature(r.note, logVkey);
      if (!step("Checkpoint signed by the log key " + log.name, log.ok === true,
        log.ok === null ? "no signature by this key" : "Ed25519")) {
        return { ok: false, steps };
      }
      let witnessed = 0;
      for (const w of witnessVkeys || []) {
        const c = await checkSignature(r.note, w);
        if (c.ok === false) return { ok: step("Witness " + c.name, false, "bad cosignature"), steps };
        if (c.ok) {
          witnessed++;
          step("Cosigned by witness " + c.name, true,
            "at " + new Date(c.time * 1000).toISOString());
        }
      }
      const need = quorum || 0;
      const enough = step("Witness quorum", witnessed >= need,
        witnessed + " of " + (witnessVkeys || []).length + " cosigned, " + need + " required");
      return { ok: enough, steps };
    } catch (err) {
      step("Verification error", false, String(err && err.message ? err.message : err));
      return { ok: false, steps };
    }
  }

  function render(box, result) {
    box.replaceChildren();
    box.dataset.state = result.ok ? "ok" : "fail";
    const head = document.createElement("p");
    head.className = "verdict";
    head.textContent = result.ok
      ? "Verified: this exact event is in the signed log."
      : "NOT verified: this event does not match the signed log.";
    box.append(head);
    const list = document.createElement("ol");
    for (const s of result.steps) {
      const li = document.createElement("li");
      li.className = s.ok ? "ok" : "fail";
      li.textContent = (s.ok ? "\u2713 " : "\u2717 ") + s.label + (s.detail ? ": " + s.detail : "");
      list.append(li);
    }
    box.append(list);
  }

  async function onVerify() {
    const data = JSON.parse(document.getElementById("verify-data").textContent);
    const box = document.getElementById("verify-result");
    box.dataset.state = "running";
    box.textContent = "Verifying\u2026";
    let receipt;
    try {
      const resp = await fetch(data.receiptUrl, { cache: "no-store" });
      if (!resp.ok) throw new Error("receipt: HTTP " + resp.status);
      receipt = await resp.text();
    } catch (err) {
      render(box, { ok: false, steps: [{ label: "Fetch receipt", ok: false, detail: String(err) }] });
      return;
    }
    const result = await verifyEvent({
      eventJson: document.getElementById("event-json").value,
      entry: data.entry,
      receipt,
      logVkey: document.getElementById("log-vkey").value,
      witnessVkeys: data.witnesses,
      quorum: data.quorum,
    });
    render(box, result);
  }

  // The pieces verify-credential.js builds on (credentials' evidence receipts, Ed25519, JCS).
  window.CorridorVerify = { verifyEvent, jcs, parseReceipt, rootFromInclusion, sameRecordTime,
    entryDocument, parseEntry, checkSignature, ed25519, sha256, hex, concat, equal, b64decode };
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("verify");
    if (button) button.addEventListener("click", onVerify);
  });
})();
