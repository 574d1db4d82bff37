import { lazy, Suspense, useState, type ComponentType, type ReactNode } from "react";
import { Link, NavLink, Navigate, Route, Routes, useLocation } from "react-router";
import { useAuth } from "./auth";
import { Bell, Toasts } from "./notifications";
import { Loading } from "./components/ui";
import { CatalogPage } from "./pages/CatalogPage";
import { ProductPage } from "./pages/ProductPage";
import { NotFoundPage } from "./pages/NotFoundPage";

// Browsing is in the first bundle; every other page is fetched when first visited (its own
// chunk), so a first visit to the shop downloads only what it shows.
const named = <K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) =>
  lazy(() => load().then((module) => ({ default: module[name] })));
const auth = () => import("./pages/AuthPages");
const LoginPage = named(auth, "LoginPage");
const RegisterPage = named(auth, "RegisterPage");
const ForgotPasswordPage = named(auth, "ForgotPasswordPage");
const ResetPasswordPage = named(auth, "ResetPasswordPage");
const AccountPage = named(() => import("./pages/AccountPage"), "AccountPage");
const CartPage = named(() => import("./pages/CartPage"), "CartPage");
const orders = () => import("./pages/OrdersPages");
const OrdersPage = named(orders, "OrdersPage");
const OrderPage = named(orders, "OrderPage");
const staff = () => import("./pages/StaffProducts");
const StaffProductsPage = named(staff, "StaffProductsPage");
const ProductEditorPage = named(staff, "ProductEditorPage");
const ReportsPage = named(() => import("./pages/ReportsPage"), "ReportsPage");

function RequireAuth({ staff = false, children }: { staff?: boolean; children: ReactNode }) {
  const { user, ready, isStaff } = useAuth();
  const location = useLocation();
  if (!ready) return <Loading />;
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (staff && !isStaff) return <p role="alert">This page is for staff only.</p>;
  return <>{children}</>;
}

const navClass = ({ isActive }: { isActive: boolean }) =>
  `rounded px-2 py-1 text-sm ${isActive ? "bg-indigo-100 text-indigo-800" : "text-slate-700 hover:bg-slate-100"}`;

function Header() {
  const { user, isStaff, logout } = useAuth();
  const [open, setOpen] = useState(false);
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-4 py-3">
        <Link to="/" className="mr-4 text-lg font-bold text-indigo-700">
          MicroServiceHub shop
        </Link>
        <button
          className="ml-auto rounded border border-slate-300 px-2 py-1 text-sm sm:hidden"
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen(!open)}
        >
          Menu
        </button>
        <nav
          id="main-nav"
          aria-label="Main"
          className={`${open ? "flex" : "hidden"} w-full flex-col gap-1 sm:ml-auto sm:flex sm:w-auto sm:flex-row sm:items-center`}
          onClick={() => setOpen(false)}
        >
          <NavLink to="/" end className={navClass}>
            Shop
          </NavLink>
          {user && (
            <>
              <NavLink to="/cart" className={navClass}>
                Cart
              </NavLink>
              <NavLink to="/orders" className={navClass}>
                Orders
              </NavLink>
            </>
          )}
          {isStaff && (
            <>
              <NavLink to="/staff/products" className={navClass}>
                Products
              </NavLink>
              <NavLink to="/staff/reports" className={navClass}>
                Sales report
              </NavLink>
              <a href="/admin/" className="rounded px-2 py-1 text-sm text-slate-700 hover:bg-slate-100">
                Admin
              </a>
            </>
          )}
          {user ? (
            <>
              <Bell />
              <NavLink to="/account" className={navClass}>
                {user.name || user.email}
              </NavLink>
              <button className="rounded px-2 py-1 text-left text-sm text-slate-700 hover:bg-slate-100" onClick={() => void logout()}>
                Log out
              </button>
            </>
          ) : (
            <>
              <NavLink to="/login" className={navClass}>
                Log in
              </NavLink>
              <NavLink to="/register" className={navClass}>
                Register
              </NavLink>
            </>
          )}
        </nav>
      </div>
    </header>
  );
}

export function App() {
  return (
    <>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        Skip to content
      </a>
      <Header />
      <Toasts />
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        <Suspense fallback={<Loading what="Loading the page" />}>
        <Routes>
          <Route path="/" element={<CatalogPage />} />
          <Route path="/products/:slug" element={<ProductPage />} />
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
          <Route path="/forgot-password" element={<ForgotPasswordPage />} />
          <Route path="/reset-password" element={<ResetPasswordPage />} />
          <Route path="/account" element={<RequireAuth><AccountPage /></RequireAuth>} />
          <Route path="/cart" element={<RequireAuth><CartPage /></RequireAuth>} />
          <Route path="/orders" element={<RequireAuth><OrdersPage /></RequireAuth>} />
          <Route path="/orders/:id" element={<RequireAuth><OrderPage /></RequireAuth>} />
          <Route path="/staff/products" element={<RequireAuth staff><StaffProductsPage /></RequireAuth>} />
          <Route path="/staff/products/new" element={<RequireAuth staff><ProductEditorPage /></RequireAuth>} />
          <Route path="/staff/products/:id" element={<RequireAuth staff><ProductEditorPage /></RequireAuth>} />
          <Route path="/staff/reports" element={<RequireAuth staff><ReportsPage /></RequireAuth>} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
        </Suspense>
      </main>
    </>
  );
}
