// Verifies Verifiable Credentials with the digitalbazaar JavaScript stack (npm registry):
// @digitalbazaar/vc verifyCredential with DataIntegrityProof and the eddsa-rdfc-2022 and
// eddsa-jcs-2022 cryptosuites, Bitstring Status List checked by vc-bitstring-status-list.
// Nothing here is Corridor code: it is the independent verifier Corridor's tests run.
//
// Usage:
//   node verify-credential.mjs [--context URL=FILE]... [--document URL=FILE]... [--now ISO]
//                              CREDENTIAL.json|-
//     prints {"verified": bool, "error": string|null, "status": [...]}; exit 0 verified, 1 not.
//   node verify-credential.mjs --batch < BATCH.json
//     BATCH = {"contexts": {URL: FILE}, "documents": {URL: JSON}, "now": ISO,
//              "credentials": [{"credential": VC, "controller": DOC?}, ...]}
//     prints a JSON array of results in order; exit 0 if all verified, 1 if any not.
//   Exit 2: bad usage or input.
//
// The document loader never touches the network. It serves, in this order: the contexts the
// npm packages ship (so Corridor's copies of W3C contexts are not trusted), did:key documents
// and verification methods computed from the key fingerprint, contexts given with --context
// (Corridor's own), and documents given with --document (status list credentials).
//
// credentialStatus: a BitstringStatusListEntry is checked here. The status list credential must
// be given as a document under its URL; it is verified with the same suites, must have the
// credential's issuer, and the credential fails when its bit is set (revoked or suspended).
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as rdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite as jcs2022} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import {contexts as bslContexts} from '@digitalbazaar/vc-bitstring-status-list-context';

const DID_V1 = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

// Contexts shipped by the npm packages; a --context for one of these URLs is ignored.
const BUNDLED = new Map([
  ...credentialsContexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...bslContexts,
]);

const suite = [
  new DataIntegrityProof({cryptosuite: rdfc2022}),
  new DataIntegrityProof({cryptosuite: jcs2022()}),
];

// did:key with an Ed25519 Multikey: the DID document follows from the fingerprint alone.
async function didKey(url) {
  const [did, fragment] = url.split('#');
  const fingerprint = did.slice('did:key:'.length);
  if(!fingerprint.startsWith('z6Mk') || (fragment !== undefined && fragment !== fingerprint)) {
    throw new Error(`unsupported did:key "${url}"`);
  }
  const vmId = `${did}#${fingerprint}`;
  const key = await Ed25519Multikey.from({
    '@context': MULTIKEY_V1, type: 'Multikey', id: vmId, controller: did,
    publicKeyMultibase: fingerprint,
  });
  const method = await key.export({publicKey: true, includeContext: true});
  // The round trip re-encodes the 0xed01 header: a different header or length changes it.
  if(method.publicKeyMultibase !== fingerprint || key.publicKey.length !== 32) {
    throw new Error(`"${did}" is not an Ed25519 did:key`);
  }
  if(fragment !== undefined) {
    return method;
  }
  const {'@context': _, ...embedded} = method;
  return {
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [embedded],
    authentication: [vmId],
    assertionMethod: [vmId],
    capabilityInvocation: [vmId],
    capabilityDelegation: [vmId],
  };
}

function makeLoader({contexts, documents}) {
  return async function documentLoader(url) {
    let document;
    if(BUNDLED.has(url)) {
      document = BUNDLED.get(url);
    } else if(url.startsWith('did:key:')) {
      document = await didKey(url);
    } else if(contexts.has(url)) {
      document = contexts.get(url);
    } else if(documents.has(url)) {
      document = documents.get(url);
    } else {
      throw new Error(`document loader: "${url}" is not available offline`);
    }
    return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
  };
}

// The status list library reports the bit; a set bit means the credential is not valid.
async function checkStatus(options) {
  const result = await checkBitstringStatus({...options, suite});
  if(!result.verified) {
    return result;
  }
  const set = result.results.filter(r => r.status);
  if(set.length > 0) {
    const what = set.map(r => `${r.credentialStatus.statusPurpose} bit ` +
      `${r.credentialStatus.statusListIndex} is set`).join('; ');
    return {...result, verified: false, error: new Error(what)};
  }
  return result;
}

function describe(error) {
  if(!error) {
    return null;
  }
  const parts = [];
  const walk = e => {
    if(Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    if(!e) {
      return;
    }
    if(e.errors) {
      walk(e.errors);
    } else {
      parts.push(e.message || String(e));
    }
    if(e.cause) {
      walk(e.cause);
    }
  };
  walk(error);
  return [...new Set(parts)].join('; ') || String(error);
}

async function verifyOne({credential, controller}, {documentLoader, now}) {
  try {
    const options = {credential, suite, documentLoader, checkStatus, now};
    if(controller) {
      // For documents whose issuer is not the did:key itself (the W3C test vectors).
      options.purpose = new vc.CredentialIssuancePurpose({controller});
    }
    const result = await vc.verifyCredential(options);
    const error = result.verified ? null :
      describe(result.error || result.statusResult?.error ||
        result.results?.map(r => r.error) || 'not verified');
    const status = (result.statusResult?.results || []).map(r => ({
      statusPurpose: r.credentialStatus?.statusPurpose,
      statusListIndex: r.credentialStatus?.statusListIndex,
      set: r.status,
    }));
    return {verified: result.verified === true, error, status};
  } catch(e) {
    return {verified: false, error: describe(e), status: []};
  }
}

function readJson(file) {
  return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
}

function parseArgs(argv) {
  const args = {contexts: new Map(), documents: new Map(), now: undefined, batch: false};
  const pair = text => {
    const at = text.lastIndexOf('=');
    if(at <= 0) {
      throw new Error(`expected URL=FILE, got "${text}"`);
    }
    return [text.slice(0, at), readJson(text.slice(at + 1))];
  };
  for(let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if(arg === '--batch') {
      args.batch = true;
    } else if(arg === '--context') {
      args.contexts.set(...pair(argv[++i] ?? ''));
    } else if(arg === '--document') {
      args.documents.set(...pair(argv[++i] ?? ''));
    } else if(arg === '--now') {
      args.now = argv[++i];
    } else if(args.file === undefined && (arg === '-' || !arg.startsWith('--'))) {
      args.file = arg;
    } else {
      throw new Error(`unexpected argument "${arg}"`);
    }
  }
  if(!args.batch && args.file === undefined) {
    throw new Error('give a credential file (or - for stdin), or --batch');
  }
  return args;
}

async function main() {
  let args;
  let items;
  try {
    args = parseArgs(process.argv.slice(2));
    if(args.batch) {
      const batch = readJson('-');
      for(const [url, file] of Object.entries(batch.contexts || {})) {
        args.contexts.set(url, readJson(file));
      }
      for(const [url, doc] of Object.entries(batch.documents || {})) {
        args.documents.set(url, doc);
      }
      args.now = batch.now ?? args.now;
      items = batch.credentials;
      if(!Array.isArray(items)) {
        throw new Error('batch: "credentials" must be an array');
      }
    } else {
      items = [{credential: readJson(args.file)}];
    }
  } catch(e) {
    process.stderr.write(`verify-credential: ${e.message}\n`);
    process.exit(2);
  }
  const documentLoader = makeLoader(args);
  const results = [];
  // One at a time: the jsonld caches stay warm and the output order is the input order.
  for(const item of items) {
    results.push(await verifyOne(item, {documentLoader, now: args.now}));
  }
  process.stdout.write(JSON.stringify(args.batch ? results : results[0]) + '\n');
  process.exit(results.every(r => r.verified) ? 0 : 1);
}

await main();
