/** Opens a page by its route (`experiment/<id>`, `ticket/<id>`…): the app follows the hash. */
export const go = (path: string) => {
  location.hash = `#/${path}`;
};
