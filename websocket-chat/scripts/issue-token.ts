// Prints a signed chat token: CHAT_AUTH_SECRET=... npm run token -w websocket-chat -- <nickname> [hours]
import { ChatTokens } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";

const [nickname, hours = "12"] = process.argv.slice(2);
const { authSecret } = loadConfig();
if (!nickname || !authSecret) {
  console.error("usage: CHAT_AUTH_SECRET=<secret> npm run token -w websocket-chat -- <nickname> [hours]");
  process.exit(2);
}
console.log(await new ChatTokens(authSecret).sign(nickname, Number(hours) * 3600));
