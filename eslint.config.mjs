// ESLint's flat configuration (ESLint 9 reads no configuration from package.json): the browser's
// modules in static/js, the service worker, and the Node tests of those modules in tests/js.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: [".venv/**", "test-artifacts/**", "instance/**"] },
  js.configs.recommended,
  // Leaving keys out of a copy by destructuring ({ op_id, ...rest }) is how the modules drop fields.
  { rules: { "no-unused-vars": ["error", { ignoreRestSiblings: true }] } },
  {
    files: ["static/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser } },
  },
  {
    files: ["static/js/sw.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.serviceworker } },
  },
  {
    files: ["tests/**/*.mjs", "tests/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
