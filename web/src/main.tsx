/**
 * The Claw Cloud dashboard: a Preact app served by the API at `/` (api/dashboard.ts).
 * Routes live in the URL fragment (`#/instances/inst_…`), so the server serves one page.
 */
import "./zod-jitless";
import "./app.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, isSignedIn, onSignedOut, refreshSession, signOut } from "./api";
import { AccountScreen } from "./screens/account";
import { AdminScreen } from "./screens/admin";
import { ApiKeysScreen } from "./screens/api-keys";
import { AuditScreen } from "./screens/audit";
import { RegisterScreen, SignInScreen } from "./screens/auth";
import { CredentialsScreen } from "./screens/credentials";
import { DeviceKeysScreen } from "./screens/device-keys";
import { CreateInstanceScreen, InstanceScreen, InstancesScreen } from "./screens/instances";
import { navigate, useRoute } from "./router";
import type { Me } from "./types";

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | undefined>();
  const [restoring, setRestoring] = useState(true);

  async function loadMe(): Promise<void> {
    setMe(await api<Me>("GET", "/v1/me"));
  }

  useEffect(() => {
    const stop = onSignedOut(() => {
      setMe(undefined);
      if (!["/sign-in", "/register"].includes(route.path)) navigate("/sign-in");
    });
    // A reload keeps the session through the HttpOnly cookie: one refresh gets a new access token.
    void refreshSession()
      .then(async (ok) => (ok ? loadMe() : undefined))
      .catch(() => undefined)
      .finally(() => setRestoring(false));
    return stop;
  }, []);

  useEffect(() => {
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route.path, restoring, me === undefined]);

  if (restoring) return <p class="loading" role="status">Loading…</p>;

  const publicScreen = route.path === "/register" ? <RegisterScreen invite={route.query.get("invite") ?? ""} email={route.query.get("email") ?? ""} /> : null;
  if (!me || !isSignedIn()) {
    return (
      <Shell me={undefined}>
        {publicScreen ?? <SignInScreen onSignedIn={loadMe} />}
      </Shell>
    );
  }
  const [, section, id] = route.path.split("/");
  let screen;
  switch (section) {
    case "instances":
      screen = id === "new" ? <CreateInstanceScreen /> : id ? <InstanceScreen id={id} me={me} /> : <InstancesScreen />;
      break;
    case "credentials":
      screen = <CredentialsScreen />;
      break;
    case "api-keys":
      screen = <ApiKeysScreen />;
      break;
    case "device-keys":
      screen = <DeviceKeysScreen me={me} />;
      break;
    case "audit":
      screen = <AuditScreen />;
      break;
    case "account":
      screen = <AccountScreen me={me} />;
      break;
    case "admin":
      screen = me.role === "admin" ? <AdminScreen /> : <NotFound />;
      break;
    default:
      if (route.path === "/" || route.path === "/sign-in" || route.path === "/register") {
        navigate("/instances");
        return null;
      }
      screen = <NotFound />;
  }
  return <Shell me={me}>{screen}</Shell>;
}

function NotFound() {
  return (
    <>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        Nothing here. <a href="#/instances">Back to your instances</a>.
      </p>
    </>
  );
}

const NAV: readonly (readonly [string, string, boolean])[] = [
  ["/instances", "Instances", false],
  ["/credentials", "Credentials", false],
  ["/api-keys", "API keys", false],
  ["/device-keys", "Device keys", false],
  ["/audit", "Audit log", false],
  ["/account", "Account", false],
  ["/admin", "Admin", true],
];

function Shell({ me, children }: { me: Me | undefined; children: preact.ComponentChildren }) {
  const route = useRoute();
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => {
        event.preventDefault();
        document.querySelector<HTMLElement>("main h1")?.focus();
      }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Claw Cloud</span>
        {me ? (
          <nav aria-label="Main">
            <ul>
              {NAV.filter(([, , admin]) => !admin || me.role === "admin").map(([path, label]) => (
                <li key={path}>
                  <a href={`#${path}`} aria-current={route.path.startsWith(path) ? "page" : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {me ? (
          <div class="who">
            <span>{me.email}</span>
            <button type="button" class="link" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main id="main">{children}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
