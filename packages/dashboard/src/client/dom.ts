/**
 * Builds the page with DOM calls only: every piece of data becomes a text node or an attribute value
 * set with setAttribute, never markup (there is no innerHTML in the dashboard).
 */
export type Child = Node | string | number | null | undefined | false | Child[]

/** Attributes and listeners of {@link h}: `on*` functions become listeners, the rest attributes. */
export type Props = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>

const append = (el: Node, child: Child) => {
  if (child === null || child === undefined || child === false) return
  if (Array.isArray(child)) {
    for (const c of child) append(el, c)
    return
  }
  el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
}

/** `h('a', { href }, 'text', child)`: an element with attributes, listeners and children. */
export const h = <K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(props ?? {})) {
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value)
    else if (value === true) el.setAttribute(name, '')
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value))
  }
  append(el, children)
  return el
}

/** Replaces the children of `el`. */
export const replace = (el: Element, ...children: Child[]) => {
  el.replaceChildren()
  append(el, children)
}

/**
 * Replaces `el`'s children, keeping open the `<details data-key>` that were open (a refresh must not
 * fold what the reader unfolded).
 */
export const rerender = (el: Element, ...children: Child[]) => {
  const open = new Set([...el.querySelectorAll('details[open][data-key]')].map((d) => d.getAttribute('data-key')))
  replace(el, ...children)
  for (const d of el.querySelectorAll('details[data-key]')) if (open.has(d.getAttribute('data-key'))) d.setAttribute('open', '')
}

/** A JSON value, pretty-printed as text. */
export const jsonBlock = (value: unknown, cls = 'json') =>
  h('pre', { class: cls }, value === undefined ? '—' : JSON.stringify(value, null, 2))

/** A foldable section whose open state survives refreshes. */
export const fold = (key: string, summary: Child, ...body: Child[]) =>
  h('details', { 'data-key': key }, h('summary', null, summary), ...body)
