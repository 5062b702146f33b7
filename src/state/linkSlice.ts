import type { SliceCreator } from './types';
import type { UrlState } from './urlState';

export interface LinkSlice {
  /** the link the page was opened with, kept as it came: the address bar changes with every image */
  openedLink: UrlState | null;
  setOpenedLink: (link: UrlState) => void;
}

export const createLinkSlice: SliceCreator<LinkSlice> = (set) => ({
  openedLink: null,
  setOpenedLink: (openedLink) => set({ openedLink }),
});
