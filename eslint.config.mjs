// ESLint flat config: typescript-eslint's type-checked rules over every
// TypeScript tree. The type-aware rules (floating and misused promises above
// all) are why this exists: a forgotten await in a stream path ends as an
// unhandled rejection in a user's job, and tsc alone does not see it.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["build/", "dist/", "node_modules/", "coverage/", ".tmp/", "**/*.mjs", "**/*.py"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // V8's parser pretenures a function literal assigned straight to a
    // property (`obj.f = () => …`, `obj[k] = function …`), taking it for a
    // prototype method made once: each one made per call is then born in
    // the old generation, and through its context keeps the call's young
    // objects alive past scavenges until a full GC (bench/README.md, "What
    // survives a scavenge"). In lib/, make it a class field, or assign it to
    // a local first.
    files: ["lib/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "AssignmentExpression[left.type='MemberExpression'] > :matches(ArrowFunctionExpression, FunctionExpression).right",
          message:
            "A function literal assigned straight to a property is pretenured by V8 (kept in the old generation, keeping what it captures past scavenges): use a class field, or assign it to a local first.",
        },
      ],
    },
  },
  {
    // Specs hand async functions to APIs that take "a function returning a
    // Promise" (queue tasks, fixture handlers, pool.use); an async body with
    // no await is how a spec states a task that settles at once or whose
    // throw must arrive as a rejection, which is the behaviour under test.
    files: ["spec/**/*.ts"],
    rules: { "@typescript-eslint/require-await": "off" },
  },
);
