// A real OpenID Connect provider (the npm package oidc-provider) standing in for Google in the
// end-to-end tests: one client (oneclaw), dev interactions (log in as any email), RS256 keys
// we generate here, so the tests can also sign tokens the provider never issued. It speaks
// HTTPS, like Google, with a certificate from a throwaway CA that only the server under test
// is told to trust (SSL_CERT_FILE), so the server's own TLS client is exercised.

import Provider from "oidc-provider";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl command in `dir`.
/// Returns the paths of the CA certificate (to trust) and the server's key and certificate.
export function makeCertificates(dir) {
  const path = (name) => join(dir, name);
  const openssl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "1",
    "-subj", "/CN=oneclaw e2e CA", "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", ...ec, "-keyout", path("idp.key"), "-out", path("idp.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(path("idp.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", path("idp.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
    "-CAcreateserial", "-out", path("idp.pem"), "-days", "1", "-extfile", path("idp.ext"));
  return { ca: path("ca.pem"), key: path("idp.key"), cert: path("idp.pem") };
}

export const CLIENT_ID = "oneclaw-e2e";
export const CLIENT_SECRET = "e2e-client-secret";

export async function startProvider(port, redirectUri, tls) {
  const issuer = `https://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: "e2e-key", alg: "RS256", use: "sig" };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    }],
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: id, email_verified: true, name: id }) }),
    features: { devInteractions: { enabled: true } },
    // Like Google: the ID token itself carries the email claims.
    conformIdTokenClaims: false,
  });
  provider.proxy = false;
  const server = createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, provider.callback())
    .listen(port, "127.0.0.1");
  // Tokens signed by the provider's own key (for a wrong audience) or by a stranger's key.
  const sign = async (claims, key = privateKey, kid = "e2e-key") =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).setIssuedAt().setExpirationTime("5m").sign(key);
  const stranger = (await generateKeyPair("RS256")).privateKey;
  return { issuer, server, sign, stranger };
}
