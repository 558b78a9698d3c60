// The chat page's client: plain JavaScript, served from examples/static/ by staticFiles().
const log = document.getElementById("log");
const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rooms/lobby`);
socket.addEventListener("message", (event) => {
  const item = document.createElement("li");
  item.textContent = event.data;
  log.append(item);
});
document.getElementById("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  if (input.value !== "") socket.send(input.value);
  input.value = "";
});
