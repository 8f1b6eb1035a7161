// A real, certified OpenID provider (oidc-provider from npm) for the tests, on
// 127.0.0.1. Configured from the environment:
//   OIDC_PORT      the port to listen on
//   OIDC_CLIENTS   JSON array of clients (client_id, client_secret, redirect_uris,
//                  post_logout_redirect_uris)
//   OIDC_ACCOUNTS  JSON object: login name -> claims ({ email, email_verified, name })
// Sign-in uses the provider's own development interactions: a login form (any
// password; the login name picks the account) and then a consent page. Test use only.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The ID token carries the claims asked for by scope (triage also reads user info).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ['triage-test-only-cookie-key'] },
  async findAccount(ctx, sub) {
    const claims = accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
});
// Plain http on 127.0.0.1: no proxy, no TLS.
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
