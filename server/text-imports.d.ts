// Files imported as text (`with { type: "text" }`), embedded by `bun build --compile`.
declare module "*.sh" {
  const text: string;
  export default text;
}
