import { mount } from 'svelte';
import App from './App.svelte';
import { TauriBackend } from './tauri-backend';
import './app.css';

const target = document.getElementById('app');
if (target) {
  mount(App, { target, props: { backend: new TauriBackend() } });
}
