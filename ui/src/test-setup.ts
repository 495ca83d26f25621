// jsdom has no modal dialogs; the app's window (WebKitGTK) does.
HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) { this.open = true; };
HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) { this.open = false; };

// Each test starts from a page whose lists were never measured.
import { afterEach } from 'vitest';
import { forgetHeights } from './lib/window.svelte';
afterEach(() => forgetHeights());
