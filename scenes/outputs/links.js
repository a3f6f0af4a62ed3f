// The seeds' current-token picture, drawn by the explore page (scenes/outputs/explore.py, inlined there)
// and the live page (scenes/live, served): the tokens in a row, a link from the followed token to each
// token it may attend to, as thick as its weight. `links` holds [token, label, width in px] for each,
// made in Python (explore.view_of); `order` the tokens drawn, `tokens` their texts, `focus` the followed one.
function drawAttentionLinks(svg, order, tokens, focus, links) {
  const svgNS = "http://www.w3.org/2000/svg";
  const el = (name, attrs, text) => {
    const node = document.createElementNS(svgNS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  svg.replaceChildren();
  const room = svg.parentElement.clientWidth || 640;  // as wide as the page allows, at least 64 px a token
  const cell = Math.max(64, Math.min(150, room / order.length)), slot = k => order.indexOf(k);
  const x = k => (slot(k) + 0.5) * cell;
  let top = 30;
  const shapes = [];
  for (const [k, label, width] of links) {
    let d, ly;
    if (k === focus) {
      d = `M ${x(k) - 8} 0 C ${x(k) - 22} -44, ${x(k) + 22} -44, ${x(k) + 8} 0`;
      ly = -40;
    } else {
      const h = 24 + 0.5 * Math.abs(x(k) - x(focus));
      d = `M ${x(focus)} 0 Q ${(x(k) + x(focus)) / 2} ${-h} ${x(k)} 0`;
      ly = -h / 2 - 4;
    }
    top = Math.max(top, -ly + 16);
    shapes.push(el("path", {d, "stroke-width": width, "data-k": k}));
    shapes.push(el("text", {x: k === focus ? x(k) : (x(k) + x(focus)) / 2, y: ly, "text-anchor": "middle",
                            class: "label", "data-k": k}, label));
  }
  const width = order.length * cell, height = top + 28;
  svg.setAttribute("viewBox", `0 ${-top} ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  for (const s of shapes) svg.appendChild(s);
  for (const k of order) {
    svg.appendChild(el("text", {x: x(k), y: 20, "text-anchor": "middle", class: k === focus ? "focus" : ""}, tokens[k]));
  }
}
