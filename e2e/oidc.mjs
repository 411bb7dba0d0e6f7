// A real OpenID Connect provider (the npm package oidc-provider) standing in for Google in the
// end-to-end tests: one client (oneclaw), dev interactions (log in as any email), RS256 keys
// we generate here, so the tests can also sign tokens the provider never issued.

import Provider from "oidc-provider";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

export const CLIENT_ID = "oneclaw-e2e";
export const CLIENT_SECRET = "e2e-client-secret";

export async function startProvider(port, redirectUri) {
  const issuer = `http://127.0.0.1:${port}`;
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
  const server = provider.listen(port);
  // Tokens signed by the provider's own key (for a wrong audience) or by a stranger's key.
  const sign = async (claims, key = privateKey, kid = "e2e-key") =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).setIssuedAt().setExpirationTime("5m").sign(key);
  const stranger = (await generateKeyPair("RS256")).privateKey;
  return { issuer, server, sign, stranger };
}
