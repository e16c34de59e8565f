// Line icons drawn for Switchboard on a 24×24 grid (stroke, round joins).
// Each entry is a list of SVG shapes: ['path', d] | ['circle', cx, cy, r] | ['rect', x, y, w, h, rx].
// Built with createElementNS, so no markup strings are parsed.

const SVG_NS = 'http://www.w3.org/2000/svg';

const ICONS = {
  pause: [
    ['rect', 6.5, 5, 3.5, 14, 1],
    ['rect', 14, 5, 3.5, 14, 1],
  ],
  play: [['path', 'M8 5.5v13l10.5-6.5z']],
  home: [['path', 'M4 10.5 12 4l8 6.5V19a1 1 0 0 1-1 1h-4.5v-5.5h-5V20H5a1 1 0 0 1-1-1z']],
  users: [
    ['circle', 9, 8.5, 3.5],
    ['path', 'M3 19.5c.6-3.2 3-5 6-5s5.4 1.8 6 5'],
    ['path', 'M15.5 5.3a3.5 3.5 0 0 1 0 6.4'],
    ['path', 'M17.5 14.8c1.9.6 3.1 2.2 3.5 4.7'],
  ],
  key: [
    ['circle', 8, 15, 4],
    ['path', 'M11 12 20 3'],
    ['path', 'm16.5 6.5 2.5 2.5'],
    ['path', 'm14 9 2 2'],
  ],
  building: [
    ['rect', 4, 3.5, 11, 17, 1],
    ['path', 'M15 9.5h4a1 1 0 0 1 1 1v10h-5'],
    ['path', 'M7.5 7.5h4M7.5 11h4M7.5 14.5h4M9.5 20.5v-2.5'],
  ],
  scroll: [
    ['rect', 5, 3.5, 14, 17, 2],
    ['path', 'M8.5 8h7M8.5 12h7M8.5 16h4'],
  ],
  user: [
    ['circle', 12, 8.5, 4],
    ['path', 'M4.5 20c.8-3.6 3.7-5.8 7.5-5.8s6.7 2.2 7.5 5.8'],
  ],
  menu: [['path', 'M4 6.5h16M4 12h16M4 17.5h16']],
  chevronDown: [['path', 'm6.5 9.5 5.5 5.5 5.5-5.5']],
  chevronUpDown: [['path', 'm8 9.5 4-4 4 4M8 14.5l4 4 4-4']],
  plus: [['path', 'M12 5v14M5 12h14']],
  search: [
    ['circle', 10.5, 10.5, 6],
    ['path', 'm15 15 5 5'],
  ],
  more: [
    ['circle', 5.5, 12, 1.2],
    ['circle', 12, 12, 1.2],
    ['circle', 18.5, 12, 1.2],
  ],
  x: [['path', 'M6 6l12 12M18 6 6 18']],
  copy: [
    ['rect', 8.5, 8.5, 11, 11, 2],
    ['path', 'M15.5 8.5V6a1.5 1.5 0 0 0-1.5-1.5H6A1.5 1.5 0 0 0 4.5 6v8A1.5 1.5 0 0 0 6 15.5h2.5'],
  ],
  check: [['path', 'm5 12.5 4.5 4.5L19 7.5']],
  logout: [
    ['path', 'M14 4.5H6.5a1 1 0 0 0-1 1v13a1 1 0 0 0 1 1H14'],
    ['path', 'M10.5 12H20m-3.5-3.5L20 12l-3.5 3.5'],
  ],
  lock: [
    ['rect', 5, 10.5, 14, 10, 2],
    ['path', 'M8.5 10.5V8a3.5 3.5 0 0 1 7 0v2.5'],
  ],
  alert: [
    ['circle', 12, 12, 8.5],
    ['path', 'M12 7.5v5.5M12 16.2v.3'],
  ],
  info: [
    ['circle', 12, 12, 8.5],
    ['path', 'M12 11v5.5M12 7.8v.3'],
  ],
  eye: [
    ['path', 'M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12z'],
    ['circle', 12, 12, 3],
  ],
  eyeOff: [
    ['path', 'M4 4l16 16'],
    ['path', 'M9.9 5.8A9 9 0 0 1 12 5.5c6 0 9.5 6.5 9.5 6.5a17 17 0 0 1-2.9 3.7M6.3 7.4C3.9 9.2 2.5 12 2.5 12S6 18.5 12 18.5c1.6 0 3-.4 4.3-1.1'],
    ['path', 'M10 10a3 3 0 0 0 4 4'],
  ],
  refresh: [
    ['path', 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3'],
    ['path', 'M19.5 4.5v4h-4'],
  ],
  shield: [['path', 'M12 3.5 19 6v5.5c0 4.5-3 7.8-7 9-4-1.2-7-4.5-7-9V6z'], ['path', 'm9 12 2 2 4-4']],
  sparkle: [['path', 'M12 4v4M12 16v4M4 12h4M16 12h4M6.5 6.5l2.5 2.5M15 15l2.5 2.5M17.5 6.5 15 9M9 15l-2.5 2.5']],
  inbox: [
    ['path', 'M4 13.5 6.5 5h11l2.5 8.5V19a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1z'],
    ['path', 'M4 13.5h4.5l1 2h5l1-2H20'],
  ],
  phone: [['path', 'M6.5 4h3l1.5 4-2 1.5a10 10 0 0 0 5.5 5.5l1.5-2 4 1.5v3a2 2 0 0 1-2 2A15 15 0 0 1 4.5 6a2 2 0 0 1 2-2z']],
  trash: [
    ['path', 'M5 7h14M10 7V5h4v2M7 7l1 12.5h8L17 7'],
  ],
  edit: [['path', 'M14.5 5.5l4 4L9 19H5v-4z'], ['path', 'm12.5 7.5 4 4']],
  power: [['path', 'M12 4v7'], ['path', 'M7.5 7a7 7 0 1 0 9 0']],
  arrowRight: [['path', 'M5 12h14m-5-5 5 5-5 5']],
  chat: [['path', 'M5 5.5h14a1.5 1.5 0 0 1 1.5 1.5v8.5A1.5 1.5 0 0 1 19 17h-7l-4.5 3.5V17H5a1.5 1.5 0 0 1-1.5-1.5V7A1.5 1.5 0 0 1 5 5.5z']],
  send: [['path', 'M4.5 12 20 4.5 15.5 20l-3-6.5zM12.5 13.5 20 4.5']],
  activity: [['path', 'M3.5 12h4l2.5-6 4 12 2.5-6h4']],
  code: [['path', 'm8.5 7.5-5 4.5 5 4.5M15.5 7.5l5 4.5-5 4.5']],
  clock: [
    ['circle', 12, 12, 8.5],
    ['path', 'M12 7.5V12l3 2'],
  ],
  clip: [['path', 'M19 11.5 12 18.5a4.5 4.5 0 0 1-6.4-6.4l7.4-7.4a3 3 0 0 1 4.2 4.2l-7.4 7.4a1.5 1.5 0 0 1-2.1-2.1L14.5 7']],
  note: [['path', 'M6 4.5h12a1 1 0 0 1 1 1V14l-5.5 5.5H6a1 1 0 0 1-1-1v-13a1 1 0 0 1 1-1z'], ['path', 'M19 14h-4.5a1 1 0 0 0-1 1v4.5']],
  bot: [
    ['rect', 4.5, 8, 15, 11, 3],
    ['path', 'M12 8V4.5M10 4.5h4'],
    ['circle', 9.5, 13, 1],
    ['circle', 14.5, 13, 1],
    ['path', 'M2.5 12.5v2.5M21.5 12.5v2.5'],
  ],
  book: [
    ['path', 'M12 6.5c-1.8-1.3-4.3-2-7.5-2v13c3.2 0 5.7.7 7.5 2 1.8-1.3 4.3-2 7.5-2v-13c-3.2 0-5.7.7-7.5 2z'],
    ['path', 'M12 6.5v13'],
  ],
  upload: [['path', 'M12 15.5V4.5m-4.5 4.5L12 4.5 16.5 9'], ['path', 'M4.5 15v3.5a1 1 0 0 0 1 1h13a1 1 0 0 0 1-1V15']],
  download: [['path', 'M12 4.5v11m-4.5-4.5 4.5 4.5 4.5-4.5'], ['path', 'M4.5 15v3.5a1 1 0 0 0 1 1h13a1 1 0 0 0 1-1V15']],
  voicemail: [
    ['circle', 7, 12, 3.5],
    ['circle', 17, 12, 3.5],
    ['path', 'M7 15.5h10'],
  ],
  switchboard: [
    ['circle', 6.5, 6, 2],
    ['circle', 17.5, 6, 2],
    ['circle', 6.5, 18, 2],
    ['circle', 17.5, 18, 2],
    ['path', 'M6.5 8c0 5.5 11 2.5 11 8'],
  ],
};

/** An <svg> icon element. `name` must be a key of ICONS. */
export function icon(name, { size = 18, className = '', label } = {}) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('class', `icon ${className}`.trim());
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
  }
  for (const shape of ICONS[name] || ICONS.info) {
    const [kind, ...args] = shape;
    const el = document.createElementNS(SVG_NS, kind);
    if (kind === 'path') el.setAttribute('d', args[0]);
    if (kind === 'circle') {
      el.setAttribute('cx', args[0]);
      el.setAttribute('cy', args[1]);
      el.setAttribute('r', args[2]);
    }
    if (kind === 'rect') {
      el.setAttribute('x', args[0]);
      el.setAttribute('y', args[1]);
      el.setAttribute('width', args[2]);
      el.setAttribute('height', args[3]);
      if (args[4]) el.setAttribute('rx', args[4]);
    }
    svg.append(el);
  }
  return svg;
}

export const iconNames = Object.keys(ICONS);
