// The gateway channels the platform moves money through. One today: every order, clearing account
// (gateway:{channel}:clearing) and daily reconciliation is on it.
export const DEFAULT_CHANNEL = 'default';
