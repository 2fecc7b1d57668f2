// The live chat room of chat.html: posts with fetch and long-polls /cgi-bin/chat?since=N.
// Every message is put on the page with textContent, never innerHTML: a message is text, so
// "<img onerror=...>" shows up as those characters instead of running.
"use strict";

const CHAT_URL = "/cgi-bin/chat";
const RETRY_MS = 2000;  // after a failed request, so a stopped server is not hammered

const list = document.getElementById("messages");
const statusLine = document.getElementById("status");
const form = document.getElementById("post");
let lastId = 0;

function showStatus(text) {
    statusLine.textContent = text;
}

function render(message) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = new Date(message.time * 1000).toLocaleTimeString();
    const nick = document.createElement("b");
    nick.textContent = message.nick;
    const text = document.createElement("span");
    text.textContent = message.text;
    text.style.whiteSpace = "pre-wrap";  // keep the message's own line breaks
    item.append(time, " ", nick, ": ", text);
    list.append(item);
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// Each request waits on the server until there is something newer than lastId (or its wait
// ends with an empty list); then the next one starts at once.
async function poll() {
    for (;;) {
        try {
            const response = await fetch(`${CHAT_URL}?since=${lastId}`, {
                headers: { Accept: "application/json" },
                cache: "no-store",
            });
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
            const data = await response.json();
            if (data.last_id < lastId) list.replaceChildren();  // the room was reset
            data.messages.forEach(render);
            lastId = data.last_id;
            showStatus("Connected: new messages appear here as they are posted.");
        } catch (error) {
            showStatus(`Not connected (${error.message}); trying again…`);
            await sleep(RETRY_MS);
        }
    }
}

async function post(event) {
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form));
    try {
        const response = await fetch(CHAT_URL, {
            method: "POST",
            headers: { Accept: "application/json" },
            body,
        });
        // Errors from the server itself (413, 502...) come as HTML pages, not JSON.
        const data = await response
            .json()
            .catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
        if (!data.ok) throw new Error(data.error);
        form.elements.message.value = "";
        form.elements.message.focus();
    } catch (error) {
        showStatus(`Not sent: ${error.message}`);
    }
}

form.addEventListener("submit", post);
poll();
