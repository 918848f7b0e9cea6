/** Routes in the URL fragment: `#/instances/inst_…?x=y`. */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  const fragment = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = fragment.split("?");
  return { path, query: new URLSearchParams(query) };
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}
