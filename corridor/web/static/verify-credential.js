// Verify a Corridor certificate (a W3C Verifiable Credential 2.0 secured with a Data Integrity
// proof) in the browser, with WebCrypto, taking nothing on the server's word but the keys
// shown on the page (the log's key, its witnesses' keys), which can be compared out of band.
//
// The checks, named as `corridor credential verify` names them:
//   signature       eddsa-jcs-2022 (W3C vc-di-eddsa 3.3): the proof configuration (the proof
//                   without proofValue, with the document's @context) and the document
//                   without its proof, each RFC 8785 canonical JSON and SHA-256 hashed;
//                   Ed25519 over the two hashes, with the did:key of verificationMethod,
//                   which must be the issuer's
//   issuer trusted  the issuer is one of this node's accredited certifiers (GET /certifiers)
//   validity        validFrom (and validUntil) against the clock
//   status          the issuer's signed Bitstring Status List (its proof checked the same
//                   way), its GZIP list inflated with DecompressionStream, the entry's bit read
//                   (index 0 is the most significant bit of the first byte)
//   evidence N      each evidence receipt (C2SP tlog-proof) with verify.js: its entry is the
//                   evidence's event at its log index, the inclusion proof leads to the
//                   checkpoint root, the checkpoint is signed by the log key and cosigned by
//                   the witnesses' quorum
// The claim itself is recomputed from the events by whoever may read them (the node, the CLI).
"use strict";

(function () {
  const V = window.CorridorVerify;
  const enc = new TextEncoder();
  const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const ED25519_PUB = [0xed, 0x01];  // multicodec ed25519-pub, as varint

  function base58btc(text) {
    const bytes = [];  // little-endian while being built
    for (const ch of text) {
      let carry = B58.indexOf(ch);
      if (carry < 0) throw new Error("not base58btc: " + JSON.stringify(ch));
      for (let i = 0; i < bytes.length; i++) {
        carry += bytes[i] * 58;
        bytes[i] = carry & 0xff;
        carry >>= 8;
      }
      while (carry > 0) { bytes.push(carry & 0xff); carry >>= 8; }
    }
    for (let i = 0; i < text.length && text[i] === "1"; i++) bytes.push(0);
    return Uint8Array.from(bytes.reverse());
  }

  function base64url(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    return V.b64decode(b64 + "===".slice((b64.length + 3) % 4));
  }

  // Multibase: 'z' base58btc, 'u' base64url without padding.
  function multibase(value, where) {
    if (typeof value !== "string" || value.length < 2) throw new Error(where + ": not multibase");
    if (value[0] === "z") return base58btc(value.slice(1));
    if (value[0] === "u") return base64url(value.slice(1));
    throw new Error(where + ": multibase prefix " + JSON.stringify(value[0]) + " not supported");
  }

  // did:key:z6Mk... (with or without its #fragment) -> the 32-byte Ed25519 public key.
  function didKeyPublic(method) {
    const did = String(method || "").split("#")[0];
    if (!did.startsWith("did:key:z")) throw new Error(method + " is not a did:key");
    const raw = base58btc(did.slice(9));
    if (raw.length !== 34 || raw[0] !== ED25519_PUB[0] || raw[1] !== ED25519_PUB[1]) {
      throw new Error(did + " is not an Ed25519 did:key (multicodec 0xed01)");
    }
    return raw.slice(2);
  }

  function without(obj, name) {
    const out = Object.assign({}, obj);
    delete out[name];
    return out;
  }

  function issuerOf(doc) {
    const issuer = doc && doc.issuer;
    const id = issuer && typeof issuer === "object" ? issuer.id : issuer;
    return typeof id === "string" ? id : null;
  }

  function startsWith(docContext, proofContext) {
    const doc = Array.isArray(docContext) ? docContext : [docContext];
    const head = Array.isArray(proofContext) ? proofContext : [proofContext];
    return head.length <= doc.length &&
      head.every((c, i) => V.jcs(c) === V.jcs(doc[i]));
  }

  // A Data Integrity proof: {ok: true|false|null, detail, method}; null = not checkable here.
  async function verifyProof(doc) {
    const proof = doc.proof;
    if (Array.isArray(proof)) return { ok: false, detail: "/proof: a proof set; not checked here" };
    if (!proof || typeof proof !== "object") return { ok: false, detail: "/proof: missing" };
    if (proof.type !== "DataIntegrityProof") {
      return { ok: false, detail: "/proof/type: expected DataIntegrityProof, found " + proof.type };
    }
    if (proof.cryptosuite === "eddsa-rdfc-2022") {
      return { ok: null, detail: "eddsa-rdfc-2022 needs RDF canonicalization, which this page " +
        "does not do: verify with `corridor credential verify` or POST /credentials/verify " +
        "(this node's check is shown below)" };
    }
    if (proof.cryptosuite !== "eddsa-jcs-2022") {
      return { ok: false, detail: "/proof/cryptosuite: unknown " + proof.cryptosuite };
    }
    const options = without(proof, "proofValue");
    let unsecured = without(doc, "proof");
    if ("@context" in options) {
      if (!startsWith(doc["@context"], options["@context"])) {
        return { ok: false, detail: "/proof/@context: the document's @context does not start " +
          "with the proof's" };
      }
      unsecured = Object.assign(unsecured, { "@context": options["@context"] });
    }
    const signature = multibase(proof.proofValue, "/proof/proofValue");
    if (signature.length !== 64) {
      return { ok: false, detail: "/proof/proofValue: " + signature.length + " bytes, not 64" };
    }
    const publicKey = didKeyPublic(options.verificationMethod);
    const data = V.concat(await V.sha256(enc.encode(V.jcs(options))),
      await V.sha256(enc.encode(V.jcs(unsecured))));
    const ok = await V.ed25519(publicKey, signature, data);
    return { ok, method: options.verificationMethod, suite: proof.cryptosuite,
      detail: ok ? proof.cryptosuite + " proof by " + options.verificationMethod
        : "/proof/proofValue: signature does not match" };
  }

  async function signatureCheck(credential, issuer) {
    const p = await verifyProof(credential);
    if (p.ok && (p.method || "").split("#")[0] !== issuer) {
      return { ok: false, detail: "signed by " + p.method + ", which is not a key of the " +
        "issuer " + issuer };
    }
    return p;
  }

  async function trustCheck(issuer, options) {
    const certifiers = await options.fetchJson(options.certifiersUrl);
    const found = certifiers.find((c) => c.did === issuer);
    return found
      ? { ok: true, detail: issuer + " is this node's accredited certifier " + found.name +
          (found.accreditation ? " (" + found.accreditation + ")" : "") }
      : { ok: false, detail: issuer + " is not among this node's accredited certifiers" };
  }

  function instant(value) {
    if (typeof value !== "string" || !/(Z|[+-]\d\d:\d\d)$/i.test(value)) return null;
    const t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  const fail = (detail) => ({ ok: false, detail });

  function validityCheck(credential, now) {
    const start = instant(credential.validFrom);
    if (start === null) return fail("validFrom is missing or not a date-time with offset");
    if (now < start) return fail("not valid before " + credential.validFrom);
    if ("validUntil" in credential) {
      const end = instant(credential.validUntil);
      if (end === null || now > end) {
        return fail("expired or unreadable validUntil " + credential.validUntil);
      }
    }
    return { ok: true, detail: "valid from " + credential.validFrom };
  }

  async function gunzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function bitAt(bits, index) {
    return (bits[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  // The entry's index and list URL; a string when the entry is unusable.
  function statusEntry(entry) {
    if (!entry || typeof entry !== "object") return "credential has no credentialStatus";
    if (entry.type !== "BitstringStatusListEntry" ||
        typeof entry.statusListCredential !== "string") {
      return "/credentialStatus: not a BitstringStatusListEntry with a statusListCredential";
    }
    const index = Number(entry.statusListIndex);
    if (!/^(0|[1-9][0-9]*)$/.test(String(entry.statusListIndex)) ||
        !Number.isSafeInteger(index)) {
      return "/credentialStatus/statusListIndex: not a non-negative integer";
    }
    return { index, url: entry.statusListCredential, purpose: entry.statusPurpose };
  }

  async function statusCheck(credential, issuer, options) {
    const entry = statusEntry(credential.credentialStatus);
    if (typeof entry === "string") return fail(entry);
    const { index, url } = entry;
    const where = options.localPath(url);
    const list = await options.fetchJson(where || url);
    const fetched = where ? " (this node's list, fetched as " + where + ")" : "";
    if (list.id !== url) return fail("the status list fetched is " + list.id + ", not " + url);
    const proof = await verifyProof(list);
    if (!proof.ok) return fail("status list " + url + ": " + proof.detail);
    if (issuerOf(list) !== issuer || proof.method.split("#")[0] !== issuer) {
      return fail("status list " + url + " is not signed by the credential's issuer " + issuer);
    }
    const subject = list.credentialSubject || {};
    if (subject.statusPurpose !== entry.purpose) {
      return fail("the list's purpose is " + subject.statusPurpose + ", the entry's " +
        entry.purpose);
    }
    const bits = await gunzip(multibase(subject.encodedList, "/credentialSubject/encodedList"));
    if (index >= bits.length * 8) {
      return fail("bit " + index + " is outside the list of " + bits.length * 8);
    }
    const when = list.validFrom ? ", list of " + list.validFrom : "";
    if (bitAt(bits, index)) {
      return { ok: false, revoked: true,
        detail: "revoked (bit " + index + " of " + url + " is set" + when + ")" + fetched };
    }
    return { ok: true, detail: "not revoked (bit " + index + " of " + url + when + ")" + fetched };
  }

  // What a receipt says of an evidence entry that differs from the entry; null if nothing.
  function mismatch(at, item, r, logged) {
    if (r.index !== item.logIndex) {
      return at + "/logIndex: " + item.logIndex + " but the receipt proves entry " + r.index;
    }
    if (logged.eventHashId !== item.id) {
      return at + "/id: " + item.id + " but the log entry is " + logged.eventHashId;
    }
    if (r.note.origin !== item.logOrigin) {
      return at + "/logOrigin: " + item.logOrigin + " but the checkpoint is of " + r.note.origin;
    }
    return null;
  }

  // One evidence entry: its receipt proves the log holds the evidence's event at its index.
  async function evidenceCheck(n, item, trust, seen) {
    const at = "/evidence/" + n;
    if (!item || typeof item !== "object" || !(item.type || []).includes("LoggedEvent")) {
      return fail(at + ": not a LoggedEvent entry");
    }
    let r;
    try {
      r = V.parseReceipt(String(item.receipt || ""));
    } catch (err) {
      return fail(at + "/receipt: " + err.message);
    }
    if (!r.extra) return fail(at + "/receipt: holds no log entry");
    const logged = V.parseEntry(r.extra);
    const wrong = mismatch(at, item, r, logged);
    if (wrong) return fail(wrong);
    const leaf = await V.sha256(V.concat(Uint8Array.of(0), r.extra));
    const root = await V.rootFromInclusion(r.index, r.note.size, leaf, r.proof);
    if (!V.equal(root, r.note.root)) {
      return fail(at + "/receipt: the inclusion proof does not lead to the checkpoint root");
    }
    // receipts of one checkpoint: its signatures are checked once
    const key = new TextDecoder().decode(r.note.text) + "\n" +
      r.note.signatures.map((s) => s.name + V.hex(s.sig)).join();
    if (!seen.has(key)) seen.set(key, await checkpointCheck(r.note, trust));
    const cp = seen.get(key);
    if (!cp.ok) return fail(at + "/receipt: " + cp.detail);
    return { ok: true, detail: "entry " + r.index + " of " + r.note.origin + " (size " +
      r.note.size + ") is " + logged.eventHashId + "; " + cp.detail };
  }

  async function checkpointCheck(note, trust) {
    const log = await V.checkSignature(note, trust.logVkey);
    if (log.ok !== true) {
      return fail(log.ok === null ? "the checkpoint has no signature by the log key " + log.name
        : "the checkpoint's signature by " + log.name + " does not verify");
    }
    let witnessed = 0;
    for (const w of trust.witnesses || []) {
      const c = await V.checkSignature(note, w);
      if (c.ok === false) return { ok: false, detail: "bad cosignature by witness " + c.name };
      if (c.ok) witnessed++;
    }
    const need = trust.quorum || 0;
    if (witnessed < need) {
      return { ok: false, detail: witnessed + " witness cosignatures, " + need + " required" };
    }
    return { ok: true, detail: "checkpoint signed by " + log.name + ", " + witnessed + " of " +
      (trust.witnesses || []).length + " witnesses cosigned (" + need + " required)" };
  }

  // {ok: true|false|null, revoked, steps: [{label, ok, detail}]}; never throws. ok is null
  // when every check that ran passed but the signature could not be checked here (rdfc).
  async function verifyCredential(credential, options) {
    const steps = [];
    const run = async (label, fn) => {
      let res;
      try {
        res = await fn();
      } catch (err) {
        res = { ok: false, detail: String(err && err.message ? err.message : err) };
      }
      steps.push({ label, ok: res.ok, detail: res.detail || "" });
      return res;
    };
    if (!crypto.subtle) {
      steps.push({ label: "WebCrypto", ok: false,
        detail: "not available (use https or localhost)" });
      return { ok: false, steps };
    }
    if (!credential || typeof credential !== "object" || Array.isArray(credential)) {
      steps.push({ label: "credential", ok: false, detail: "not a JSON object" });
      return { ok: false, steps };
    }
    const issuer = issuerOf(credential);
    await run("signature", () => signatureCheck(credential, issuer));
    await run("issuer trusted", () => trustCheck(issuer, options));
    await run("validity", () => validityCheck(credential, Date.now()));
    const status = await run("status", () => statusCheck(credential, issuer, options));
    const items = credential.evidence;
    if (!Array.isArray(items) || items.length === 0) {
      steps.push({ label: "evidence", ok: false, detail: "credential has no evidence" });
    } else {
      const seen = new Map();
      for (let n = 0; n < items.length; n++) {
        await run("evidence " + n, () => evidenceCheck(n, items[n], options.trust, seen));
      }
    }
    const failed = steps.some((s) => s.ok === false);
    const unchecked = steps.some((s) => s.ok === null);
    return { ok: failed ? false : (unchecked ? null : true), revoked: !!status.revoked, steps };
  }

  // -- the page --------------------------------------------------------------------------

  function config() {
    const el = document.getElementById("credential-verify-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function optionsFrom(data) {
    const vkeyInput = document.getElementById("credential-log-vkey");
    return {
      certifiersUrl: data.certifiersUrl,
      trust: { logVkey: vkeyInput ? vkeyInput.value : data.logVkey, witnesses: data.witnesses,
        quorum: data.quorum },
      // A URL under this node's public address is fetched from the page's own origin: the
      // same node, reached by whatever address this page was opened with.
      localPath: (url) => url.startsWith(data.base + "/") ? url.slice(data.base.length) : null,
      fetchJson: async (url) => {
        let resp;
        try {
          resp = await fetch(url, { cache: "no-store" });
        } catch (err) {  // network, or another origin that does not allow this page
          throw new Error("could not fetch " + url + " from this page (" + err.message +
            "); check it with `corridor credential verify --online`");
        }
        if (!resp.ok) throw new Error("GET " + url + ": HTTP " + resp.status);
        return resp.json();
      },
    };
  }

  function verdict(result) {
    if (result.ok === true) {
      return "Verified: signed by its issuer, not revoked, and every evidence event is in " +
        "the signed log.";
    }
    if (result.ok === null) {
      return "Partly verified in this browser: every check here passes, but the signature " +
        "(eddsa-rdfc-2022) is left to the node's check.";
    }
    return result.revoked ? "NOT valid: this credential is revoked."
      : "NOT verified: a check below fails.";
  }

  function list(steps) {
    const ol = document.createElement("ol");
    for (const s of steps) {
      const li = document.createElement("li");
      li.className = s.ok === true ? "ok" : (s.ok === null ? "unchecked" : "fail");
      li.dataset.check = s.label;
      const mark = s.ok === true ? "\u2713 " : (s.ok === null ? "? " : "\u2717 ");
      li.textContent = mark + s.label + (s.detail ? ": " + s.detail : "");
      ol.append(li);
    }
    return ol;
  }

  function render(box, result) {
    box.replaceChildren();
    box.dataset.state = result.ok === true ? "ok" : (result.ok === null ? "partial" : "fail");
    if (result.revoked) box.dataset.revoked = "true"; else delete box.dataset.revoked;
    const head = document.createElement("p");
    head.className = "verdict";
    head.textContent = verdict(result);
    box.append(head, list(result.steps));
  }

  // The node's own check (POST /credentials/verify): a second opinion, and the only one here
  // for an eddsa-rdfc-2022 signature.
  async function secondOpinion(box, credential, data) {
    if (!box) return;
    box.replaceChildren();
    box.dataset.state = "running";
    try {
      const resp = await fetch(data.verifyUrl, { method: "POST", cache: "no-store",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ credential }) });
      if (!resp.ok) throw new Error("POST " + data.verifyUrl + ": HTTP " + resp.status);
      const report = await resp.json();
      const head = document.createElement("p");
      head.className = "verdict";
      head.textContent = "POST " + data.verifyUrl + ": " +
        (report.verified ? "verified by this node" : "NOT verified by this node");
      const steps = report.checks.map((c) => ({ label: c.check, ok: c.ok, detail: c.detail }));
      box.append(head, list(steps));
      box.dataset.state = report.verified ? "ok" : "fail";
    } catch (err) {
      box.textContent = "This node's check could not run: " + String(err.message || err);
      box.dataset.state = "fail";
    }
  }

  async function verifyInto(credential, box, opinionBox, data) {
    box.dataset.state = "running";
    box.textContent = "Verifying\u2026";
    render(box, await verifyCredential(credential, optionsFrom(data)));
    await secondOpinion(opinionBox, credential, data);
  }

  async function onPasted(data) {
    const box = document.getElementById("credential-result");
    const opinion = document.getElementById("credential-node-result");
    let credential;
    try {
      credential = JSON.parse(document.getElementById("credential-json").value);
    } catch (err) {
      render(box, { ok: false,
        steps: [{ label: "credential", ok: false, detail: "not JSON: " + err.message }] });
      return;
    }
    await verifyInto(credential, box, opinion, data);
  }

  // A button with data-credential-url (the lot page, the certificate page): fetch, verify.
  async function onFetched(button, data) {
    const box = document.getElementById(button.dataset.result);
    const opinion = document.getElementById(button.dataset.opinion || "");
    box.dataset.state = "running";
    box.textContent = "Fetching the credential\u2026";
    let credential;
    try {
      credential = await optionsFrom(data).fetchJson(button.dataset.credentialUrl);
    } catch (err) {
      render(box, { ok: false,
        steps: [{ label: "fetch credential", ok: false, detail: String(err.message || err) }] });
      return;
    }
    const title = document.getElementById(button.dataset.title || "");
    if (title) title.textContent = button.dataset.name || credential.id;
    await verifyInto(credential, box, opinion, data);
  }

  window.CorridorCredential = { verifyCredential, verifyProof, base58btc, didKeyPublic, bitAt,
    gunzip };
  document.addEventListener("DOMContentLoaded", () => {
    const data = config();
    if (!data) return;
    for (const button of document.querySelectorAll("button.verify-credential")) {
      button.addEventListener("click", () => onFetched(button, data));
    }
    const print = document.getElementById("print-certificate");
    if (print) print.addEventListener("click", () => window.print());
    const pasted = document.getElementById("verify-credential");
    if (pasted) {
      pasted.addEventListener("click", () => onPasted(data));
      if (data.autorun) onPasted(data);
    }
  });
})();
