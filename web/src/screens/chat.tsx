/**
 * Chat with an instance through the API's gateway proxy (`POST /v1/instances/:id/chat/completions`,
 * api/proxy/): the messages go from this page through the proxy to the user's own gateway and the
 * answer streams back. The conversation lives in this component's memory only: nothing is stored,
 * in the browser or by Claw Cloud.
 */
import { useState } from "preact/hooks";
import { ApiError, authorizedFetch } from "../api";
import type { InstanceView } from "../types";

interface Message {
  role: "user" | "assistant";
  content: string;
}

async function streamCompletion(instanceId: string, messages: Message[], onDelta: (text: string) => void): Promise<void> {
  const response = await authorizedFetch(`/v1/instances/${encodeURIComponent(instanceId)}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "openclaw", stream: true, messages }),
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { message?: string; field?: string };
    throw new ApiError(response.status, body.message ?? `${response.status} ${response.statusText}`, body.field);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) onDelta(text);
      }
    }
  }
}

export function ChatPanel({ instance }: { instance: InstanceView }) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const ready = instance.registration !== null && instance.status !== "destroyed";

  const send = async () => {
    const text = draft.trim();
    if (!text) {
      setProblem("write a message first");
      return;
    }
    const history: Message[] = [...messages, { role: "user", content: text }];
    setMessages([...history, { role: "assistant", content: "" }]);
    setBusy(true);
    setProblem(undefined);
    try {
      await streamCompletion(instance.id, history, (delta) =>
        setMessages((list) => [...list.slice(0, -1), { role: "assistant", content: (list.at(-1)?.content ?? "") + delta }]),
      );
      setDraft("");
    } catch (error) {
      // The message stays in the box: nothing typed is lost.
      setMessages(messages);
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="chat-title" class="chat">
      <h2 id="chat-title">Chat with this instance</h2>
      <p class="muted">
        Through Claw Cloud's gateway proxy to your own gateway (its certificate pinned). The conversation is kept in this page only.
      </p>
      {ready ? null : (
        <p role="status">
          Chat opens once the host has registered at first boot (its gateway token and certificate reach the API then).
        </p>
      )}
      {messages.length > 0 ? (
        <ol class="messages" aria-live="polite" aria-label="Conversation">
          {messages.map((message, index) => (
            <li key={index} class={`message ${message.role}`}>
              <span class="who">{message.role === "user" ? "You" : "Instance"}</span>
              <p>{message.content || (busy ? "…" : "")}</p>
            </li>
          ))}
        </ol>
      ) : null}
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <div class="field">
          <label for="chat-message">Message</label>
          <textarea
            id="chat-message"
            rows={3}
            value={draft}
            disabled={!ready}
            aria-invalid={problem ? "true" : undefined}
            aria-describedby={problem ? "chat-error" : undefined}
            onInput={(event) => setDraft((event.currentTarget as HTMLTextAreaElement).value)}
          />
          {problem ? (
            <p class="error" id="chat-error" role="alert">
              {problem}
            </p>
          ) : null}
        </div>
        <button type="submit" disabled={!ready || busy} aria-busy={busy ? "true" : undefined}>
          {busy ? <span class="spinner" aria-hidden="true" /> : null}
          Send
        </button>
      </form>
    </section>
  );
}
