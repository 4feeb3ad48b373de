// The Vercel AI SDK against the gateway (tests/agents/test_vercel_ai.py runs it; issue 18).
//
// Through two providers, both with baseURL `<gateway>/v1` and the gateway key:
//   openai-compatible  (@ai-sdk/openai-compatible: POST /v1/chat/completions, Bearer key)
//   anthropic          (@ai-sdk/anthropic: POST /v1/messages, x-api-key)
// it runs generateText, streamText (chunks counted) and a tool round trip (generateText with an
// executed tool and a second step; a zod schema on one provider, jsonSchema on the other).
// Prints one JSON object: {provider: {task: outcome}}; a task that throws records its error,
// so the test sees every failure at once. Exit code 0 unless the script itself breaks.
//
// Env: GATEWAY_URL, GATEWAY_KEY, CHAT_MODEL (a route to the Chat fake), ANTHROPIC_MODEL.
// Run from the folder holding node_modules (the test copies it into .cache/agents).

import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const { GATEWAY_URL, GATEWAY_KEY, CHAT_MODEL, ANTHROPIC_MODEL } = process.env;
const baseURL = `${GATEWAY_URL}/v1`;

const openaiCompatible = createOpenAICompatible({
  name: "frugal",
  baseURL,
  apiKey: GATEWAY_KEY,
  includeUsage: true, // stream_options.include_usage: usage on streamed answers too
});
const anthropic = createAnthropic({ baseURL, apiKey: GATEWAY_KEY });

const weatherZod = tool({
  description: "Current weather of a city",
  inputSchema: z.object({ city: z.string().describe("city name") }),
  execute: async ({ city }) => `sunny in ${city}`,
});
const weatherJson = tool({
  description: "Current weather of a city",
  inputSchema: jsonSchema({
    type: "object",
    properties: { city: { type: "string", description: "city name" } },
    required: ["city"],
    additionalProperties: false,
  }),
  execute: async ({ city }) => `sunny in ${city}`,
});

const providers = {
  "openai-compatible": { model: openaiCompatible(CHAT_MODEL), weather: weatherZod },
  anthropic: { model: anthropic(ANTHROPIC_MODEL), weather: weatherJson },
};

async function outcome(run) {
  try {
    return await run();
  } catch (err) {
    return { error: `${err?.name}: ${err?.message}`, status: err?.statusCode ?? null };
  }
}

const results = {};
for (const [name, { model, weather }] of Object.entries(providers)) {
  results[name] = {
    generate: await outcome(async () => {
      const r = await generateText({ model, prompt: "Say hello", maxRetries: 0 });
      return { text: r.text, finishReason: r.finishReason, usage: r.usage };
    }),
    stream: await outcome(async () => {
      const r = streamText({ model, prompt: "Stream hello", maxRetries: 0 });
      const chunks = [];
      for await (const chunk of r.textStream) chunks.push(chunk);
      return {
        text: chunks.join(""),
        chunks: chunks.length,
        finishReason: await r.finishReason,
        usage: await r.usage,
      };
    }),
    tools: await outcome(async () => {
      const r = await generateText({
        model,
        prompt: "Use the tool to get the weather",
        tools: { get_weather: weather },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      return {
        text: r.text,
        steps: r.steps.length,
        toolCalls: r.steps.flatMap((s) => s.toolCalls.map((c) => ({ name: c.toolName, input: c.input }))),
        toolResults: r.steps.flatMap((s) => s.toolResults.map((t) => ({ name: t.toolName, output: t.output }))),
        finishReason: r.finishReason,
      };
    }),
  };
}
process.stdout.write(`${JSON.stringify(results)}\n`);
